"""Guardrail rules with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from engine.guardrails.rules import FrequencyCap, QuietHours

QUIET = QuietHours(time(21), time(8))


@pytest.mark.parametrize(
    ("now", "zone", "until"),
    [
        (datetime(2026, 1, 5, 12, tzinfo=UTC), "UTC", None),
        (datetime(2026, 1, 5, 22, tzinfo=UTC), "UTC", datetime(2026, 1, 6, 8, tzinfo=UTC)),
        (datetime(2026, 1, 6, 3, tzinfo=UTC), "UTC", datetime(2026, 1, 6, 8, tzinfo=UTC)),
        # 06:30 UTC is 07:30 in Paris in winter: quiet until 08:00 Paris = 07:00 UTC
        (
            datetime(2026, 1, 6, 6, 30, tzinfo=UTC),
            "Europe/Paris",
            datetime(2026, 1, 6, 7, tzinfo=UTC),
        ),
        # 14:00 UTC is 06:00 in Los Angeles: quiet until 16:00 UTC
        (
            datetime(2026, 1, 6, 14, tzinfo=UTC),
            "America/Los_Angeles",
            datetime(2026, 1, 6, 16, tzinfo=UTC),
        ),
        # summer time: 05:30 UTC is 07:30 in Paris
        (
            datetime(2026, 7, 6, 5, 30, tzinfo=UTC),
            "Europe/Paris",
            datetime(2026, 7, 6, 6, tzinfo=UTC),
        ),
        (datetime(2026, 1, 5, 22, tzinfo=UTC), "Not/AZone", datetime(2026, 1, 6, 8, tzinfo=UTC)),
    ],
)
def test_quiet_hours_end_in_the_profiles_zone(
    now: datetime, zone: str, until: datetime | None
) -> None:
    assert QUIET.delay_until(now, zone) == until


def test_daytime_quiet_hours() -> None:
    lunch = QuietHours(time(12), time(13))
    assert lunch.delay_until(datetime(2026, 1, 5, 12, 30, tzinfo=UTC), None) == datetime(
        2026, 1, 5, 13, tzinfo=UTC
    )
    assert lunch.delay_until(datetime(2026, 1, 5, 13, tzinfo=UTC), None) is None


def test_parse() -> None:
    assert QuietHours.parse("21:30-07:15") == QuietHours(time(21, 30), time(7, 15))
    assert QuietHours.parse("") is None


def test_frequency_cap_names_the_rule_it_enforces() -> None:
    cap = FrequencyCap(per_day=2, per_week=5)
    assert cap.broken(1, 4, "email") is None
    assert cap.broken(2, 2, "email") == "frequency cap: 2 email per day"
    assert cap.broken(0, 5, "email") == "frequency cap: 5 email per week"
    assert FrequencyCap(0, 0).broken(100, 100, "email") is None
