"""Hypothesis strategies for conditions and profile facts over a small vocabulary, so that
generated conditions and facts actually meet (same trait keys, event and stage names)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from engine.audience import EventFact, ProfileFacts
from engine.catalog.conditions import (
    AllCondition,
    AnyCondition,
    Comparison,
    Condition,
    EventCondition,
    NotCondition,
    SegmentCondition,
    StageCondition,
    TraitCondition,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRAIT_KEYS = ("plan", "seats", "email")
EVENT_NAMES = ("campaign_sent", "logged_in")
STAGE_NAMES = ("signup", "activation")
SEGMENT_NAMES = ("power_user", "team_admin")

scalars = st.one_of(
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(("pro", "trial", "a@acme.com", "")),
)
values = st.one_of(st.none(), scalars, st.lists(scalars, max_size=3).map(tuple))
orderables = st.one_of(
    st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.sampled_from("abc")
)
durations = st.sampled_from([timedelta(minutes=30), timedelta(hours=36), timedelta(days=2)])
ages = st.integers(0, 10 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))


def _operator() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda v: {"equals": v}, scalars),
        st.builds(lambda v: {"not_equals": v}, scalars),
        st.builds(lambda v: {"one_of": tuple(v)}, st.lists(scalars, min_size=1, max_size=3)),
        st.builds(lambda o, v: {o: v}, st.sampled_from(("gt", "gte", "lt", "lte")), orderables),
        st.builds(lambda v: {"exists": v}, st.booleans()),
        st.builds(lambda v: {"contains": v}, scalars),
        st.builds(lambda v: {"matches": v}, st.sampled_from(("^a", "@acme", "pro|trial"))),
    )


comparisons = _operator().map(lambda operator: Comparison(**operator))
trait_conditions = st.builds(
    lambda key, operator: TraitCondition(trait=key, **operator),
    st.sampled_from(TRAIT_KEYS),
    _operator(),
)
event_conditions = st.builds(
    EventCondition,
    event=st.sampled_from(EVENT_NAMES),
    where=st.dictionaries(st.just("is_test"), comparisons, max_size=1),
    at_least=st.integers(1, 3),
    within=st.none() | durations,
    since_signup=st.booleans(),
)
stage_conditions = st.builds(
    StageCondition, stage=st.sampled_from(STAGE_NAMES), within=st.none() | durations
)
segment_conditions = st.builds(SegmentCondition, segment=st.sampled_from(SEGMENT_NAMES))
leaves = st.one_of(trait_conditions, event_conditions, stage_conditions, segment_conditions)


def _combine(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    several = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        several.map(lambda items: AllCondition(all=items)),
        several.map(lambda items: AnyCondition(any=items)),
        children.map(lambda child: NotCondition(negated=child)),
    )


conditions: st.SearchStrategy[Condition] = st.recursive(leaves, _combine, max_leaves=8)

events = st.builds(
    lambda name, test, age: EventFact(name, {"is_test": test}, NOW - age),
    st.sampled_from(EVENT_NAMES),
    st.booleans(),
    ages,
)
facts = st.builds(
    ProfileFacts,
    traits=st.dictionaries(st.sampled_from(TRAIT_KEYS), values, max_size=3),
    events=st.lists(events, max_size=6).map(tuple),
    stage_entries=st.dictionaries(st.sampled_from(STAGE_NAMES), ages.map(lambda a: NOW - a)),
    segments=st.frozensets(st.sampled_from(SEGMENT_NAMES)),
    signup_at=st.none() | ages.map(lambda a: NOW - a),
)
