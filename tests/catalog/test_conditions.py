"""Parsing the condition language and reading its dependencies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from engine.catalog.conditions import (
    AllCondition,
    Comparison,
    Condition,
    EventCondition,
    NotCondition,
    SegmentCondition,
    StageCondition,
    TraitCondition,
)
from engine.catalog.definitions import Goal
from engine.catalog.dependencies import Dependencies, dependencies

CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("36h", timedelta(hours=36)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    condition = CONDITION.validate_python({"stage": "signup", "within": text})

    assert isinstance(condition, StageCondition)
    assert condition.within == expected


@pytest.mark.parametrize("text", ["0d", "2", "1.5h", "2 days", "2D", "-1d", 2])
def test_malformed_durations_are_refused(text: Any) -> None:
    with pytest.raises(ValidationError, match="expected a duration such as 30m"):
        CONDITION.validate_python({"stage": "signup", "within": text})


def test_a_property_filter_value_means_equals() -> None:
    condition = CONDITION.validate_python(
        {"event": "campaign_sent", "where": {"is_test": False, "recipients": {"gte": 10}}}
    )

    assert isinstance(condition, EventCondition)
    assert condition.where["is_test"].operator == ("equals", False)
    assert condition.where["recipients"].operator == ("gte", 10)


def test_in_is_the_operator_named_in() -> None:
    condition = CONDITION.validate_python({"trait": "plan", "in": ("pro", "business")})

    assert isinstance(condition, TraitCondition)
    assert condition.operator == ("in", ("pro", "business"))


def test_a_goal_is_a_condition_with_a_window() -> None:
    goal = Goal.model_validate({"stage": "activation", "within": "14d"})

    assert goal == Goal(condition=StageCondition(stage="activation"), within=timedelta(days=14))


def test_conditions_built_in_python_validate_like_yaml() -> None:
    built = AllCondition(all=(NotCondition(negated=SegmentCondition(segment="power_user")),))

    assert CONDITION.validate_python(built) == CONDITION.validate_python(
        {"all": ({"not": {"segment": "power_user"}},)}
    )


def test_comparisons_take_one_operator() -> None:
    with pytest.raises(ValidationError, match="use one operator per comparison"):
        Comparison(gt=1, lt=5)


def test_dependencies_collect_what_a_condition_reads() -> None:
    condition = CONDITION.validate_python(
        {
            "any": (
                {"trait": "company.employee_count", "gte": 50},
                {"not": {"event": "campaign_sent", "within": "7d"}},
                {"stage": "activation"},
                {"segment": "power_user"},
            )
        }
    )

    assert dependencies(condition) == Dependencies(
        event_names=frozenset({"campaign_sent"}),
        trait_keys=frozenset({"company.employee_count", "company"}),
        stages=frozenset({"activation"}),
        segments=frozenset({"power_user"}),
        time_relative=True,
    )


def test_only_windows_make_a_condition_time_relative() -> None:
    timeless = CONDITION.validate_python(
        {"all": ({"event": "x", "since_signup": True}, {"stage": "signup"})}
    )
    windowed = CONDITION.validate_python({"stage": "signup", "within": "2d"})

    assert not dependencies(timeless).time_relative
    assert dependencies(windowed).time_relative


def test_overlap_is_any_shared_fact_or_both_time_relative() -> None:
    reads = Dependencies(event_names=frozenset({"a"}), time_relative=True)

    assert reads.overlaps(Dependencies(event_names=frozenset({"a", "b"})))
    assert reads.overlaps(Dependencies(time_relative=True))
    assert not reads.overlaps(Dependencies(event_names=frozenset({"b"})))
    assert not reads.overlaps(Dependencies(trait_keys=frozenset({"a"})))


@pytest.mark.parametrize(
    ("operator", "offset", "expected"),
    [
        ("before", "now", timedelta(0)),
        ("before", "-3d", timedelta(days=-3)),
        ("after", "+12h", timedelta(hours=12)),
        ("after", "1w", timedelta(weeks=1)),
        ("in_next", "3d", timedelta(days=3)),
        ("in_last", "30m", timedelta(minutes=30)),
    ],
)
def test_date_operators_take_offsets_and_windows(
    operator: str, offset: str, expected: timedelta
) -> None:
    condition = CONDITION.validate_python({"trait": "trial_ends_at", operator: offset})

    assert isinstance(condition, TraitCondition)
    assert condition.reads_date
    assert condition.operator == (operator, expected)


@pytest.mark.parametrize(
    ("operator", "offset", "message"),
    [
        ("before", "3 days", "expected now or a duration with an optional sign"),
        ("after", "-0d", "expected now or a duration with an optional sign"),
        ("before", 3, "expected now or a duration with an optional sign"),
        ("in_next", "-3d", "expected a duration such as 30m"),
        ("in_last", "now", "expected a duration such as 30m"),
        ("in_next", "99999999999d", "is too long"),
    ],
)
def test_bad_date_offsets_are_refused(operator: str, offset: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CONDITION.validate_python({"trait": "trial_ends_at", operator: offset})


def test_a_date_condition_is_time_relative_and_reads_the_timezone() -> None:
    found = dependencies(CONDITION.validate_python({"trait": "trial.ends_at", "in_next": "3d"}))
    plain = dependencies(CONDITION.validate_python({"trait": "plan", "equals": "pro"}))

    assert found.time_relative
    assert found.trait_keys == {"trial.ends_at", "trial", "timezone"}
    assert not plain.time_relative


def test_date_operators_apply_to_traits_only() -> None:
    with pytest.raises(ValidationError, match="in_next"):
        CONDITION.validate_python({"event": "trial_started", "in_next": "3d"})
    with pytest.raises(ValidationError, match="before"):
        CONDITION.validate_python({"event": "x", "where": {"at": {"before": "now"}}})
