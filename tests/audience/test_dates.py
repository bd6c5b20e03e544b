"""Date-trait conditions with plain values: formats, time zones, DST, windows, garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from engine.audience import ProfileFacts, evaluate
from engine.audience.dates import moment, next_flip
from engine.catalog.conditions import Condition, TraitCondition

CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
PARIS = ZoneInfo("Europe/Paris")


def date_condition(**operator: Any) -> TraitCondition:
    condition = CONDITION.validate_python({"trait": "ends_at", **operator})
    assert isinstance(condition, TraitCondition)
    return condition


def holds(operator: dict[str, Any], value: Any, now: datetime = NOW, **traits: Any) -> bool:
    facts = ProfileFacts(traits={"ends_at": value, **traits})
    return evaluate(date_condition(**operator), facts, now)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-31T09:30:00Z", datetime(2026, 3, 31, 9, 30, tzinfo=UTC)),
        ("2026-03-31T09:30:00+02:00", datetime(2026, 3, 31, 7, 30, tzinfo=UTC)),
        ("2026-03-31T09:30:00", datetime(2026, 3, 31, 7, 30, tzinfo=UTC)),  # Paris, summer
        ("2026-03-31", datetime(2026, 3, 30, 22, 0, tzinfo=UTC)),  # midnight in Paris
        ("2026-01-15", datetime(2026, 1, 14, 23, 0, tzinfo=UTC)),  # winter: +01:00
        (1_774_949_400, datetime(2026, 3, 31, 9, 30, tzinfo=UTC)),
        (1_774_949_400.5, datetime(2026, 3, 31, 9, 30, 0, 500_000, tzinfo=UTC)),
    ],
)
def test_values_name_moments_in_the_profiles_zone(value: Any, expected: datetime) -> None:
    found = moment(value, PARIS)

    assert found is not None
    assert found.astimezone(UTC) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "soon",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "31/03/2026",
        float("nan"),
        float("inf"),
        10**20,
        ["2026-03-31"],
        {"at": "2026-03-31"},
    ],
)
def test_a_value_that_names_no_moment_makes_every_date_operator_false(value: Any) -> None:
    for operator in ({"in_next": "3d"}, {"in_last": "3d"}, {"before": "now"}, {"after": "now"}):
        assert not holds(operator, value)


def test_a_missing_trait_makes_every_date_operator_false() -> None:
    condition = date_condition(before="now")

    assert not evaluate(condition, ProfileFacts(traits={}), NOW)


@pytest.mark.parametrize(
    ("operator", "ends_at", "expected"),
    [
        ({"in_next": "3d"}, NOW + timedelta(days=3), True),  # the window opens 3 days before
        ({"in_next": "3d"}, NOW + timedelta(days=3, seconds=1), False),
        ({"in_next": "3d"}, NOW + timedelta(seconds=1), True),
        ({"in_next": "3d"}, NOW, False),  # and closes at the date
        ({"in_last": "3d"}, NOW, True),
        ({"in_last": "3d"}, NOW - timedelta(days=3) + timedelta(seconds=1), True),
        ({"in_last": "3d"}, NOW - timedelta(days=3), False),
        ({"in_last": "3d"}, NOW + timedelta(seconds=1), False),
        ({"before": "now"}, NOW, True),
        ({"before": "now"}, NOW + timedelta(seconds=1), False),
        ({"before": "-3d"}, NOW - timedelta(days=3), True),  # at least 3 days ago
        ({"before": "-3d"}, NOW - timedelta(days=2), False),
        ({"after": "7d"}, NOW + timedelta(days=7, seconds=1), True),  # more than 7 days away
        ({"after": "+7d"}, NOW + timedelta(days=7), False),
        ({"after": "now"}, NOW + timedelta(seconds=1), True),
    ],
)
def test_each_operator_is_a_window_of_now(
    operator: dict[str, Any], ends_at: datetime, expected: bool
) -> None:
    assert holds(operator, ends_at.isoformat()) is expected
    assert holds(operator, ends_at.timestamp()) is expected


def test_before_and_after_with_the_same_offset_are_complements() -> None:
    for hours in range(-100, 100, 7):
        value = (NOW + timedelta(hours=hours)).isoformat()
        assert holds({"before": "2d"}, value) is not holds({"after": "2d"}, value)


def test_a_date_is_midnight_in_the_profiles_timezone() -> None:
    ends = "2026-03-05"  # in_next 3d opens at midnight starting the 2nd, local time
    tokyo_evening = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 00:30 on the 2nd in Tokyo

    assert holds({"in_next": "3d"}, ends, tokyo_evening, timezone="Asia/Tokyo")
    assert not holds({"in_next": "3d"}, ends, tokyo_evening, timezone="America/New_York")
    assert not holds({"in_next": "3d"}, ends, tokyo_evening)  # UTC by default


def test_without_a_valid_timezone_trait_the_default_zone_applies() -> None:
    condition = date_condition(before="now")
    just_after_midnight_in_paris = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    facts = ProfileFacts(traits={"ends_at": "2026-03-05", "timezone": "Mars/Olympus"})

    assert not evaluate(condition, facts, just_after_midnight_in_paris)
    paris_default = ProfileFacts(traits=facts.traits, default_timezone="Europe/Paris")
    assert evaluate(condition, paris_default, just_after_midnight_in_paris)


def test_offsets_keep_the_local_wall_clock_across_daylight_saving() -> None:
    # Paris moves to summer time on Sunday 2026-03-29: 3 days before midnight on the 31st
    # is midnight on the 28th (+01:00), 71 hours of elapsed time, not 72.
    condition = date_condition(in_next="3d")
    opens = next_flip(condition, "2026-03-31", PARIS, NOW)

    assert opens == datetime(2026, 3, 27, 23, 0, tzinfo=UTC)
    assert next_flip(condition, "2026-03-31", PARIS, opens) == datetime(
        2026, 3, 30, 22, 0, tzinfo=UTC
    )


def test_next_flip_is_the_next_end_of_the_window_and_none_after_the_last() -> None:
    condition = date_condition(in_last="1w")
    start = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    value = start.isoformat()

    assert next_flip(condition, value, PARIS, NOW) == start
    assert next_flip(condition, value, PARIS, start) == start + timedelta(weeks=1)
    assert next_flip(condition, value, PARIS, start + timedelta(weeks=1)) is None
    assert next_flip(condition, "garbage", PARIS, NOW) is None


def test_windows_at_the_edge_of_the_calendar_do_not_raise() -> None:
    assert holds({"after": "1w"}, "9999-12-31")
    assert not holds({"in_next": "1w"}, "0001-01-01")
    assert not holds({"in_last": "1w"}, "9999-12-31")
    assert next_flip(date_condition(in_last="1w"), "9999-12-31T00:00:00Z", PARIS, NOW) is None
