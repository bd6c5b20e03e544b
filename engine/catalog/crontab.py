"""Crontabs read as standard cron reads them, for APScheduler to run.

APScheduler numbers weekdays from 0 = Monday, standard cron from 0 = Sunday (7 is Sunday
too), so `0 9 * * 1` would fire on Tuesdays. The weekday field is rewritten as the names of
the days standard cron means (`1-5` -> `mon,tue,wed,thu,fri`) before APScheduler sees it;
names (`mon`, `mon-fri`) mean what they say either way.
"""

from __future__ import annotations

import re

from apscheduler.triggers.cron import CronTrigger

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard cron order, 0 = Sunday
_PART = re.compile(r"(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/([0-9]+))?")


def cron_trigger(crontab: str) -> CronTrigger:
    """The UTC trigger of a five-field crontab; raises ValueError naming what is wrong."""
    fields = crontab.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone="UTC",
    )


def _weekdays(field: str) -> str:
    """The weekday field as APScheduler names of the days standard cron means."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(f"unrecognised weekday '{part}'")
        first, last, step = match.groups()
        if first == "*":
            low, high = 0, 6
        else:
            low = _day(first)
            high = _day(last) if last is not None else (6 if step else low)
        if last == "sun":
            high = 7  # `sat-sun` ends the week, as 6-7 does
        if low > high or step == "0":
            raise ValueError(f"weekday range '{part}' is empty")
        days |= {day % 7 for day in range(low, high + 1, int(step or 1))}
    return ",".join(_DAYS[day] for day in sorted(days))


def _day(token: str) -> int:
    """A weekday as standard cron numbers it: 0-7 (0 and 7 are Sunday) or a name."""
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in _DAYS and len(token) == 3:
        return _DAYS.index(token)
    raise ValueError(f"unrecognised weekday '{token}': use 0-7 (0 and 7 are Sunday) or mon..sun")
