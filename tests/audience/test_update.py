"""Stage entries and segment memberships computed from a catalog and a profile's facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audience import (
    Dependencies,
    EventFact,
    ProfileFacts,
    entered_stages,
    matching_segments,
    primary_persona,
    update_audience,
)
from engine.catalog import Catalog, load_catalog
from tests.audience.strategies import NOW

REPOSITORY = Path(__file__).resolve().parents[2]
SOPHIE = {
    "role": "marketing_manager",
    "email_experience": "beginner",
    "plan": "trial",
    "email": "sophie@studio-lumen.example",
}


def load(directory: Path) -> Catalog:
    catalog, problems = load_catalog(directory)
    assert problems == []
    assert catalog is not None
    return catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load(REPOSITORY)


def did(name: str, ago: timedelta = timedelta(0), **properties: Any) -> EventFact:
    return EventFact(name=name, properties=properties, timestamp=NOW - ago)


def test_one_event_can_carry_a_profile_through_ordered_stages(catalog: Catalog) -> None:
    facts = ProfileFacts(events=(did("signed_up"), did("logged_in")))

    assert entered_stages(catalog.stages, facts, NOW) == {"signup": NOW, "first_login": NOW}


def test_an_ordered_stage_waits_for_the_one_before_it(catalog: Catalog) -> None:
    facts = ProfileFacts(events=(did("signed_up"), did("campaign_sent", is_test=False)))

    assert entered_stages(catalog.stages, facts, NOW) == {"signup": NOW}


def test_independent_stages_need_no_predecessor(catalog: Catalog) -> None:
    facts = ProfileFacts(events=(did("integration_connected"), did("pricing_viewed")))

    assert entered_stages(catalog.stages, facts, NOW) == {"discovery": NOW, "integration": NOW}


def test_a_stage_is_entered_once(catalog: Catalog) -> None:
    earlier = NOW - timedelta(days=3)
    facts = ProfileFacts(
        events=(did("signed_up"), did("logged_in"), did("campaign_sent", is_test=False)),
        stage_entries={"signup": earlier, "first_login": earlier},
    )

    assert entered_stages(catalog.stages, facts, NOW) == {"activation": NOW}


def test_a_test_send_is_not_activation(catalog: Catalog) -> None:
    facts = ProfileFacts(
        events=(did("campaign_sent", is_test=True),),
        stage_entries={"signup": NOW, "first_login": NOW},
    )

    assert entered_stages(catalog.stages, facts, NOW) == {}


def test_sophie_is_a_beginner_on_trial_and_guided_first(catalog: Catalog) -> None:
    facts = ProfileFacts(traits=SOPHIE, events=(did("signed_up", timedelta(days=1)),))

    update = update_audience(catalog, facts, NOW)

    assert update.entered_stages == {"signup": NOW}
    assert update.segments == {"beginner_marketer", "trial_evaluator"}
    assert update.entered_segments == update.segments
    assert update.exited_segments == frozenset()
    assert update.primary_persona == "beginner_marketer"


def test_trial_membership_ends_when_the_two_weeks_are_over(catalog: Catalog) -> None:
    facts = ProfileFacts(
        traits=SOPHIE,
        stage_entries={"signup": NOW - timedelta(days=15)},
        segments=frozenset({"beginner_marketer", "trial_evaluator"}),
    )

    update = update_audience(catalog, facts, NOW, Dependencies(time_relative=True))

    assert update.exited_segments == {"trial_evaluator"}
    assert update.segments == {"beginner_marketer"}


def test_fast_senders_become_power_users_whatever_they_said(catalog: Catalog) -> None:
    sends = tuple(did("campaign_sent", timedelta(hours=h), is_test=False) for h in (1, 2, 3))
    facts = ProfileFacts(traits=SOPHIE, events=sends, signup_at=NOW - timedelta(days=1))

    members = matching_segments(catalog.segments, facts, NOW)

    assert primary_persona(catalog.segments, members) == "power_user"


def test_a_segment_sees_the_new_membership_of_the_segment_it_uses(tmp_path: Path) -> None:
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments/a.yaml").write_text(
        "segment: champion\npriority: 2\nwhen: {segment: big_account}\n"
    )
    (tmp_path / "segments/b.yaml").write_text(
        "segment: big_account\npriority: 1\nwhen: {trait: seats, gte: 50}\n"
    )
    catalog = load(tmp_path)

    members = matching_segments(catalog.segments, ProfileFacts(traits={"seats": 80}), NOW)

    assert list(catalog.segments) == ["big_account", "champion"]
    assert members == {"big_account", "champion"}


def test_segments_no_longer_in_the_catalog_are_exited(catalog: Catalog) -> None:
    facts = ProfileFacts(segments=frozenset({"retired_persona"}))

    update = update_audience(catalog, facts, NOW)

    assert update.exited_segments == {"retired_persona"}
    assert update.primary_persona is None


EXAMPLE_EVENTS = (
    "page_viewed",
    "signed_up",
    "logged_in",
    "campaign_sent",
    "automation_created",
    "integration_connected",
    "shortcut_used",
    "teammate_invited",
)
example_traits = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(("marketer", "admin", "developer")),
        "email_experience": st.sampled_from(("beginner", "expert")),
        "plan": st.sampled_from(("trial", "pro")),
        "email": st.sampled_from(("a@gmail.com", "b@acme.example")),
        "company": st.fixed_dictionaries({"employee_count": st.integers(1, 200)}),
    },
)
example_events = st.builds(
    lambda name, test, hours: did(name, timedelta(hours=hours), is_test=test),
    st.sampled_from(EXAMPLE_EVENTS),
    st.booleans(),
    st.integers(0, 24 * 20),
)
example_facts = st.builds(
    ProfileFacts,
    traits=example_traits,
    events=st.lists(example_events, max_size=8).map(tuple),
    signup_at=st.none() | st.just(NOW - timedelta(days=3)),
)


def settled(catalog: Catalog, facts: ProfileFacts) -> ProfileFacts:
    """The facts after a full evaluation: stage entries and memberships up to date."""
    update = update_audience(catalog, facts, NOW - timedelta(days=1))
    return replace(facts, stage_entries=dict(update.entered_stages), segments=update.segments)


@settings(max_examples=150, deadline=None, database=None)
@given(
    example_facts,
    st.one_of(
        example_events.map(lambda e: ("event", e)),
        example_traits.map(lambda t: ("traits", t)),
        st.integers(1, 30 * 24).map(lambda h: ("time", timedelta(hours=h))),
    ),
)
def test_evaluating_only_what_changed_agrees_with_a_full_evaluation(
    catalog: Catalog, facts: ProfileFacts, change: tuple[str, Any]
) -> None:
    before = settled(catalog, facts)
    kind, value = change
    now, after, changed = NOW, before, Dependencies(time_relative=True)
    if kind == "event":
        after = replace(before, events=(*before.events, value))
        changed = Dependencies(event_names=frozenset({value.name}))
    elif kind == "traits":
        after = replace(before, traits={**before.traits, **value})
        changed = Dependencies(trait_keys=frozenset(value))
    else:
        now = NOW + value

    assert update_audience(catalog, after, now, changed) == update_audience(catalog, after, now)
