"""Every SQL statement of the models: per-profile aggregates of the first days, by GROUP BY.

A population is read in four statements whatever its size: the profiles with their traits,
the most common events in the window, the counts of those events per profile, and the hours
from signup to every stage entry. Signup is the `signup` stage entry, or the profile's first
seen time without one, as the audience service defines it.

Window arithmetic differs per database (SQLite stores UTC text, PostgreSQL timestamptz), so
`_seconds_between` is the one dialect switch; the rules match `engine.ml.observe`:
an event counts when 0 <= seconds since signup < window. SQLite's date functions keep
milliseconds, so there an event within a millisecond of the window's end may fall on the
other side of it than at ingestion, and stage hours agree to about a microsecond of an hour.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, and_, desc, func, select

from engine.ingest.repository import events, profiles
from engine.ml.features import Matrix, Observations
from engine.ml.predict import SIGNUP_STAGE
from engine.store.tables import StageEntry

stage_entries = StageEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Population:
    """Profiles whose first window is complete, as observations, plus when each reached
    the target stage (hours after signup, NaN if it has not)."""

    profile_ids: npt.NDArray[np.int64]
    observations: Observations
    target_hours: Matrix


def load_population(
    conn: Connection,
    *,
    signed_up_before: datetime,
    window: timedelta,
    stages: Sequence[str],
    target_stage: str,
    max_events: int = 30,
    exclude_events: Collection[str] = (),
) -> Population:
    """Profiles that signed up before `signed_up_before`, with their first `window`; the
    `max_events` most done events are counted, leaving out `exclude_events`."""
    signup = _signup(signed_up_before)
    rows = conn.execute(
        select(signup.c.profile_id, profiles.c.traits)
        .join(profiles, profiles.c.id == signup.c.profile_id)
        .order_by(signup.c.profile_id)
    ).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    traits = [row[1] if isinstance(row[1], dict) else {} for row in rows]
    del rows
    names = _frequent_events(conn, signup, window, max_events, exclude_events)
    counts = _event_counts(conn, signup, window, ids, names)
    wanted = tuple(dict.fromkeys([*stages, target_stage]))
    hours = _stage_hours(conn, signup, ids, wanted)
    chosen = tuple(dict.fromkeys(stages))
    observations = Observations(
        traits=traits,
        event_names=names,
        event_counts=counts,
        stage_names=chosen,
        stage_hours=hours[:, [wanted.index(s) for s in chosen]],
    )
    return Population(ids, observations, hours[:, wanted.index(target_stage)])


def _signup(before: datetime) -> Any:
    """profile_id, signup_at of every profile that signed up before `before`."""
    signup_entry = stage_entries.alias("signup_entry")
    signup_at = func.coalesce(signup_entry.c.entered_at, profiles.c.first_seen_at)
    joined = profiles.outerjoin(
        signup_entry,
        and_(signup_entry.c.profile_id == profiles.c.id, signup_entry.c.stage == SIGNUP_STAGE),
    )
    return (
        select(profiles.c.id.label("profile_id"), signup_at.label("signup_at"))
        .select_from(joined)
        .where(signup_at < before)
        .cte("signup")
    )


def _seconds_between(conn: Connection, later: Any, earlier: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _in_window(conn: Connection, signup: Any, window: timedelta) -> ColumnElement[bool]:
    elapsed = _seconds_between(conn, events.c.timestamp, signup.c.signup_at)
    return and_(
        events.c.type == "track",
        elapsed >= 0,
        elapsed < window.total_seconds(),
    )


def _frequent_events(
    conn: Connection, signup: Any, window: timedelta, limit: int, exclude: Collection[str]
) -> tuple[str, ...]:
    """The event names most profiles did in their window (candidates for features)."""
    profiles_doing = func.count(func.distinct(events.c.profile_id)).label("profiles")
    query = (
        select(events.c.name, profiles_doing)
        .select_from(signup.join(events, events.c.profile_id == signup.c.profile_id))
        .where(_in_window(conn, signup, window), events.c.name.is_not(None))
        .where(events.c.name.not_in(sorted(exclude)))
        .group_by(events.c.name)
        .order_by(desc("profiles"), events.c.name)
        .limit(limit)
    )
    return tuple(str(name) for name, _ in conn.execute(query))


def _event_counts(
    conn: Connection,
    signup: Any,
    window: timedelta,
    ids: npt.NDArray[np.int64],
    names: tuple[str, ...],
) -> Matrix:
    counts = np.zeros((len(ids), len(names)))
    if not names or not len(ids):
        return counts
    query = (
        select(events.c.profile_id, events.c.name, func.count())
        .select_from(signup.join(events, events.c.profile_id == signup.c.profile_id))
        .where(_in_window(conn, signup, window), events.c.name.in_(names))
        .group_by(events.c.profile_id, events.c.name)
    )
    column = {name: j for j, name in enumerate(names)}
    rows = conn.execute(query).all()
    if rows:
        pids, found, n = zip(*rows, strict=True)
        counts[np.searchsorted(ids, pids), [column[name] for name in found]] = n
    return counts


def _stage_hours(
    conn: Connection, signup: Any, ids: npt.NDArray[np.int64], stages: tuple[str, ...]
) -> Matrix:
    hours = np.full((len(ids), len(stages)), math.nan)
    if not stages or not len(ids):
        return hours
    entry = stage_entries.alias("entry")
    query = (
        select(
            entry.c.profile_id,
            entry.c.stage,
            _seconds_between(conn, entry.c.entered_at, signup.c.signup_at),
        )
        .select_from(signup.join(entry, entry.c.profile_id == signup.c.profile_id))
        .where(entry.c.stage.in_(stages))
    )
    column = {stage: j for j, stage in enumerate(stages)}
    rows = conn.execute(query).all()
    if rows:
        pids, found, seconds = zip(*rows, strict=True)
        rows_at = np.searchsorted(ids, pids)
        hours[rows_at, [column[stage] for stage in found]] = np.asarray(seconds, float) / 3600.0
    return hours
