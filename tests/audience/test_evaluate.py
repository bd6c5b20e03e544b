"""Condition evaluation with plain values, one behaviour per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from engine.audience import EventFact, ProfileFacts, evaluate
from engine.catalog.conditions import Condition

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)


def holds(condition: dict[str, Any], facts: ProfileFacts) -> bool:
    return evaluate(CONDITION.validate_python(condition), facts, NOW)


def traits(**values: Any) -> ProfileFacts:
    return ProfileFacts(traits=values)


def event(name: str, ago: timedelta, **properties: Any) -> EventFact:
    return EventFact(name=name, properties=properties, timestamp=NOW - ago)


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [
        ({"equals": "pro"}, "pro", True),
        ({"equals": 1}, 1.0, True),
        ({"equals": 1}, True, False),
        ({"equals": True}, 1, False),
        ({"equals": "1"}, 1, False),
        ({"not_equals": "pro"}, "trial", True),
        ({"not_equals": "pro"}, 3, True),
        ({"in": ("pro", "business")}, "business", True),
        ({"in": ("pro", "business")}, "trial", False),
        ({"gt": 10}, 11, True),
        ({"gte": 10}, 10, True),
        ({"lt": 10}, 10, False),
        ({"lte": 10.5}, 10, True),
        ({"gt": 10}, "11", False),
        ({"gt": 0}, True, False),
        ({"gte": "2026-01-01"}, "2026-03-02T09:00:00Z", True),
        ({"contains": "market"}, "marketing_manager", True),
        ({"contains": "sms"}, ("email", "sms"), True),
        ({"contains": 1}, ("1", "2"), False),
        ({"contains": "a"}, {"a": 1}, False),
        ({"matches": "@acme\\.com$"}, "sophie@acme.com", True),
        ({"matches": "^\\d+$"}, 42, False),
        ({"exists": True}, "", True),
        ({"exists": False}, None, True),
    ],
)
def test_trait_comparisons(comparison: dict[str, Any], value: Any, expected: bool) -> None:
    assert holds({"trait": "t", **comparison}, traits(t=value)) is expected


@pytest.mark.parametrize(
    "comparison",
    [
        {"equals": "pro"},
        {"not_equals": "pro"},
        {"in": ("pro",)},
        {"gt": 1},
        {"contains": "a"},
        {"matches": ".*"},
        {"exists": True},
    ],
)
def test_every_comparison_on_a_missing_trait_is_false(comparison: dict[str, Any]) -> None:
    assert holds({"trait": "plan", **comparison}, traits()) is False
    assert holds({"trait": "plan", **comparison}, traits(plan=None)) is False


def test_exists_false_asks_for_absence() -> None:
    assert holds({"trait": "plan", "exists": False}, traits())
    assert not holds({"trait": "plan", "exists": False}, traits(plan="pro"))


def test_dotted_traits_reach_nested_values_and_exact_keys_win() -> None:
    nested = traits(company={"employee_count": 80})
    flat = traits(**{"company.employee_count": 5, "company": {"employee_count": 80}})
    condition = {"trait": "company.employee_count", "gte": 50}

    assert holds(condition, nested)
    assert not holds(condition, flat)
    assert not holds(condition, traits(company="Acme"))


def test_events_are_counted_with_filters_and_windows() -> None:
    facts = ProfileFacts(
        events=(
            event("campaign_sent", timedelta(days=1), is_test=False),
            event("campaign_sent", timedelta(days=2), is_test=True),
            event("campaign_sent", timedelta(days=9), is_test=False),
            event("logged_in", timedelta(hours=1)),
        )
    )

    assert holds({"event": "campaign_sent", "at_least": 3}, facts)
    assert holds({"event": "campaign_sent", "where": {"is_test": False}, "at_least": 2}, facts)
    assert not holds({"event": "campaign_sent", "at_least": 3, "within": "1w"}, facts)
    assert holds({"event": "campaign_sent", "at_least": 2, "within": "1w"}, facts)
    assert not holds({"event": "campaign_created"}, facts)


def test_a_missing_property_fails_its_filter() -> None:
    facts = ProfileFacts(events=(event("campaign_sent", timedelta(0)),))

    assert not holds({"event": "campaign_sent", "where": {"is_test": False}}, facts)


def test_since_signup_counts_events_after_signing_up_only() -> None:
    facts = ProfileFacts(
        events=(event("page_viewed", timedelta(days=3)), event("page_viewed", timedelta(days=1))),
        signup_at=NOW - timedelta(days=2),
    )
    condition = {"event": "page_viewed", "since_signup": True, "at_least": 2}

    assert not holds(condition, facts)
    assert holds({**condition, "at_least": 1}, facts)
    assert not holds({**condition, "at_least": 1}, ProfileFacts(events=facts.events))


def test_stages_are_reached_ever_or_recently() -> None:
    facts = ProfileFacts(stage_entries={"signup": NOW - timedelta(days=3)})

    assert holds({"stage": "signup"}, facts)
    assert not holds({"stage": "signup", "within": "2d"}, facts)
    assert holds({"stage": "signup", "within": "3d"}, facts)
    assert not holds({"stage": "activation"}, facts)


def test_did_not_activate_within_two_days_of_signup() -> None:
    stalled = {
        "all": (
            {"stage": "signup"},
            {"not": {"stage": "signup", "within": "2d"}},
            {"not": {"stage": "activation"}},
        )
    }
    day_one = ProfileFacts(stage_entries={"signup": NOW - timedelta(days=1)})
    day_three = ProfileFacts(stage_entries={"signup": NOW - timedelta(days=3)})
    activated = ProfileFacts(
        stage_entries={"signup": NOW - timedelta(days=3), "activation": NOW - timedelta(days=1)}
    )

    assert not holds(stalled, day_one)
    assert holds(stalled, day_three)
    assert not holds(stalled, activated)


def test_segment_membership() -> None:
    facts = ProfileFacts(segments=frozenset({"power_user"}))

    assert holds({"segment": "power_user"}, facts)
    assert not holds({"segment": "team_admin"}, facts)
