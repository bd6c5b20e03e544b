"""Properties of the condition evaluator, over generated conditions and profiles."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audience import EventFact, ProfileFacts, dependencies, evaluate
from engine.catalog.conditions import (
    AllCondition,
    AnyCondition,
    Condition,
    EventCondition,
    NotCondition,
    StageCondition,
    TraitCondition,
)
from tests.audience.strategies import (
    NOW,
    TRAIT_KEYS,
    conditions,
    durations,
    event_conditions,
    facts,
    scalars,
    stage_conditions,
    trait_conditions,
    values,
)

PROPERTY = settings(max_examples=300, deadline=None, database=None)


@PROPERTY
@given(conditions, facts)
def test_evaluation_is_total(condition: Condition, profile: ProfileFacts) -> None:
    assert evaluate(condition, profile, NOW) in (True, False)


@PROPERTY
@given(conditions, facts)
def test_not_inverts(condition: Condition, profile: ProfileFacts) -> None:
    negated = NotCondition(negated=condition)

    assert evaluate(negated, profile, NOW) is not evaluate(condition, profile, NOW)


@PROPERTY
@given(st.lists(conditions, min_size=1, max_size=4).map(tuple), facts)
def test_all_and_any_agree_with_python(
    children: tuple[Condition, ...], profile: ProfileFacts
) -> None:
    results = [evaluate(child, profile, NOW) for child in children]

    assert evaluate(AllCondition(all=children), profile, NOW) is all(results)
    assert evaluate(AnyCondition(any=children), profile, NOW) is any(results)


@PROPERTY
@given(st.one_of(event_conditions, stage_conditions), durations, durations, facts)
def test_within_windows_are_monotone(
    condition: EventCondition | StageCondition,
    shorter: timedelta,
    longer: timedelta,
    profile: ProfileFacts,
) -> None:
    shorter, longer = sorted((shorter, longer))
    narrow = evaluate(condition.model_copy(update={"within": shorter}), profile, NOW)
    wide = evaluate(condition.model_copy(update={"within": longer}), profile, NOW)
    unbounded = evaluate(condition.model_copy(update={"within": None}), profile, NOW)

    assert narrow <= wide <= unbounded


@PROPERTY
@given(event_conditions, facts)
def test_needing_fewer_events_never_hurts(condition: EventCondition, profile: ProfileFacts) -> None:
    more = evaluate(condition, profile, NOW)
    fewer = evaluate(condition.model_copy(update={"at_least": 1}), profile, NOW)

    assert more <= fewer


@PROPERTY
@given(trait_conditions, facts)
def test_a_missing_trait_fails_every_comparison_but_exists_false(
    condition: TraitCondition, profile: ProfileFacts
) -> None:
    without = replace(
        profile, traits={k: v for k, v in profile.traits.items() if k != condition.trait}
    )

    expected = condition.operator == ("exists", False)
    assert evaluate(condition, without, NOW) is expected


@PROPERTY
@given(st.sampled_from(TRAIT_KEYS), values.filter(lambda v: v is not None), scalars)
def test_not_equals_is_the_negation_of_equals_on_present_values(
    key: str, value: object, operand: object
) -> None:
    profile = ProfileFacts(traits={key: value})
    equals = TraitCondition(trait=key, equals=operand)
    not_equals = TraitCondition(trait=key, not_equals=operand)

    assert evaluate(not_equals, profile, NOW) is not evaluate(equals, profile, NOW)


@PROPERTY
@given(conditions, facts, st.sampled_from(TRAIT_KEYS), values, st.integers(1, 3))
def test_facts_outside_the_dependencies_do_not_change_the_result(
    condition: Condition, profile: ProfileFacts, key: str, value: object, extra: int
) -> None:
    reads = dependencies(condition)
    changed = dict(profile.traits)
    if key not in reads.trait_keys:
        changed[key] = value
    unrelated = EventFact("unrelated_event", {}, NOW - timedelta(minutes=extra))
    other = replace(profile, traits=changed, events=(*profile.events, unrelated))

    assert evaluate(condition, other, NOW) is evaluate(condition, profile, NOW)


@PROPERTY
@given(conditions, facts, st.integers(1, 30 * 24 * 60))
def test_only_time_relative_conditions_change_as_time_passes(
    condition: Condition, profile: ProfileFacts, minutes: int
) -> None:
    later = NOW + timedelta(minutes=minutes)

    if not dependencies(condition).time_relative:
        assert evaluate(condition, profile, later) is evaluate(condition, profile, NOW)
