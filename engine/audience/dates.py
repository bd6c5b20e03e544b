"""Date traits as moments, and the window of time in which a date condition holds.

Pure, like `evaluate`: the caller passes the trait value, the profile's time zone and now.

- A value is an ISO 8601 datetime (`2026-03-31T09:00:00Z`; without an offset it is local
  time in the profile's zone), an ISO 8601 date (`2026-03-31`: midnight starting that day
  in the profile's zone), or Unix seconds. Anything else is no moment, and a condition on
  it does not hold.
- Offsets count in the profile's local time: three days before 09:00 on the 31st is 09:00
  on the 28th, across a daylight saving change too, as a person reading a calendar means.
- Every date operator holds in one window `[start, end)` of now, so the moments a
  condition can flip are its window's ends: what `next_flip` returns to the scheduler.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.catalog.conditions import TraitCondition
from engine.clock import zone_of

Window = tuple[datetime | None, datetime | None]


def profile_zone(traits: Mapping[str, Any], default: str) -> ZoneInfo:
    """The zone of a profile's `timezone` trait, else `default`."""
    return zone_of(traits.get("timezone"), default)


def moment(value: Any, zone: ZoneInfo) -> datetime | None:
    """The moment a trait value names, in `zone`, or None if it names none."""
    try:
        return _moment(value, zone)
    except (ValueError, OverflowError, OSError):
        return None


def _moment(value: Any, zone: ZoneInfo) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).astimezone(zone) if math.isfinite(value) else None
    if not isinstance(value, str) or len(value) < 10:
        return None
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), zone)
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)


def window(condition: TraitCondition, at: datetime) -> Window:
    """When, as UTC moments, the date condition holds for a trait at `at` (a local time):
    from `start` (included) until `end` (excluded); None is unbounded."""
    name, offset = condition.operator
    match name:
        case "before":  # at < now + offset, i.e. now >= at - offset
            return _utc(at - offset), None
        case "after":
            return None, _utc(at - offset)
        case "in_next":
            return _utc(at - offset), _utc(at)
        case _:  # in_last
            return _utc(at), _utc(at + offset)


def holds(condition: TraitCondition, value: Any, zone: ZoneInfo, now: datetime) -> bool:
    """Whether the date condition holds at `now` for the trait `value`."""
    found = _window_of(condition, value, zone)
    if found is None:
        return False
    start, end = found
    return (start is None or start <= now) and (end is None or now < end)


def next_flip(
    condition: TraitCondition, value: Any, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """The first moment after `now` at which the condition changes, if it ever does."""
    found = _window_of(condition, value, zone)
    ends = [end for end in found or () if end is not None and end > now]
    return min(ends, default=None)


def _utc(local: datetime) -> datetime:
    """A local time (arithmetic on it keeps the wall clock) as a UTC moment."""
    return local.astimezone(UTC)


def _window_of(condition: TraitCondition, value: Any, zone: ZoneInfo) -> Window | None:
    """The condition's window for a trait value; None when the value names no moment or
    the window falls outside the calendar (year 1 to 9999)."""
    at = moment(value, zone)
    if at is None:
        return None
    try:
        return window(condition, at)
    except OverflowError:
        return None


def shifted(value: Any, offset: timedelta, zone: ZoneInfo) -> datetime | None:
    """The UTC moment `offset` after the one a trait value names (local wall-clock time),
    or None if it names none: where a `wait_until: {trait, offset}` ends."""
    at = moment(value, zone)
    if at is None:
        return None
    try:
        return _utc(at + offset)
    except OverflowError:
        return None
