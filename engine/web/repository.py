"""Every SQL statement of the dashboard's overview, funnel, cohorts and journey map.

Each function is one aggregate statement returning a few rows: GROUP BY and conditional
sums in the database, never a loop over profiles in Python, so a page costs the same few
statements with 100 or 100,000 profiles. Flow pages and profile pages are in
`flow_repository.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, select

from engine.web.sql import (
    WEEK,
    Population,
    deliveries,
    epoch,
    events,
    persona_is,
    profiles,
    runs,
    stage_entries,
    timers,
    week_of,
    whole,
)

HOUR = 3600


@dataclass(frozen=True)
class Totals:
    """Headline numbers of the overview."""

    profiles: int
    open_runs: int
    pending_timers: int
    deliveries: dict[str, int]  # by status


def totals(conn: Connection) -> Totals:
    """Counts the indexes answer: profiles, open runs, timers, deliveries by status."""
    n_profiles = conn.execute(select(func.count()).select_from(profiles)).scalar_one()
    n_timers = conn.execute(select(func.count()).select_from(timers)).scalar_one()
    open_runs = conn.execute(
        select(func.count()).where(runs.c.status.in_(("active", "waiting")))
    ).scalar_one()
    by_status = conn.execute(
        select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
    )
    return Totals(int(n_profiles), int(open_runs), int(n_timers), {s: int(n) for s, n in by_status})


@dataclass
class FlowRuns:
    """A flow's runs per status, and how many converted (whatever their status)."""

    statuses: dict[str, int] = field(default_factory=dict)
    converted: int = 0


def runs_by_flow(conn: Connection, since: datetime | None) -> dict[str, FlowRuns]:
    """Runs of each flow entered since `since` (all time when None)."""
    converted = func.sum(case((runs.c.converted_at.is_not(None), 1), else_=0))
    query = select(runs.c.flow, runs.c.status, func.count(), converted)
    if since is not None:
        query = query.where(runs.c.entered_at >= since)
    out: dict[str, FlowRuns] = {}
    for flow, status, n, k in conn.execute(query.group_by(runs.c.flow, runs.c.status)):
        found = out.setdefault(flow, FlowRuns())
        found.statuses[status] = int(n)
        found.converted += int(k or 0)
    return out


def stage_counts(conn: Connection, population: Population | None = None) -> dict[str, int]:
    """Profiles per stage: all of them, or those of `population`."""
    query = select(stage_entries.c.stage, func.count()).group_by(stage_entries.c.stage)
    if population is not None:
        query = query.where(stage_entries.c.profile_id.in_(population.profile_ids()))
    return {stage: int(n) for stage, n in conn.execute(query)}


def anchor_by_week(
    conn: Connection, anchor: str, since: datetime, persona: str | None = None
) -> dict[int, int]:
    """Profiles entering the anchor stage (signup) per week number since `since`."""
    s = stage_entries
    week = week_of(s.c.entered_at)
    query = select(week, func.count()).where(s.c.stage == anchor, s.c.entered_at >= since)
    if persona:
        query = query.where(s.c.profile_id.in_(select(profiles.c.id).where(persona_is(persona))))
    return {int(w): int(n) for w, n in conn.execute(query.group_by(week))}


def population_size(conn: Connection, population: Population) -> int:
    """Distinct profiles of the population (a profile may have entered a flow twice)."""
    ids = population.profile_ids().distinct().subquery()
    return int(conn.execute(select(func.count()).select_from(ids)).scalar_one())


def stage_histogram(conn: Connection, population: Population) -> list[tuple[str, int | None, int]]:
    """(stage, whole hours after the anchor stage or None without one, profiles).

    An hourly histogram instead of per-profile rows: medians come out exact to the hour
    from a few hundred rows, the same way on both backends (SQLite has no percentile).
    """
    s, a = stage_entries.alias("s"), stage_entries.alias("a")
    hours = whole(epoch(s.c.entered_at) - epoch(a.c.entered_at), HOUR)
    query = (
        select(s.c.stage, hours, func.count())
        .select_from(
            s.outerjoin(a, and_(a.c.profile_id == s.c.profile_id, a.c.stage == population.anchor))
        )
        .where(s.c.profile_id.in_(population.profile_ids()))
        .group_by(s.c.stage, hours)
    )
    return [(stage, h, int(n)) for stage, h, n in conn.execute(query)]


def cohorts(
    conn: Connection,
    anchor: str,
    since: datetime,
    later: Sequence[str],
    persona: str | None = None,
) -> list[tuple[int, int, int, tuple[int, ...]]]:
    """Per anchor week and whole weeks from anchor to last seen: profiles, and how many of
    them reached each of the `later` stages.

    "Weeks to last seen" gives unbounded retention (seen in week N or later) from one row
    per profile, so retention costs one pass over the cohort, not a scan of its events.
    """
    a = stage_entries.alias("a")
    week = week_of(a.c.entered_at)
    seen = whole(epoch(profiles.c.last_seen_at) - epoch(a.c.entered_at), WEEK)
    reached = [_reached(a.c.profile_id, stage) for stage in later]
    query = (
        select(week, seen, func.count(), *reached)
        .select_from(a.join(profiles, profiles.c.id == a.c.profile_id))
        .where(a.c.stage == anchor, a.c.entered_at >= since)
        .group_by(week, seen)
    )
    if persona:
        query = query.where(persona_is(persona))
    n = len(later)
    return [
        (int(row[0]), int(row[1]), int(row[2]), tuple(int(v or 0) for v in row[3 : 3 + n]))
        for row in conn.execute(query)
    ]


def _reached(profile_id: Any, stage: str) -> Any:
    s = stage_entries.alias(f"reached_{stage}")
    # SELECT 1, not EXISTS(SELECT *): SQLite then answers from the unique index alone.
    hit = select(literal(1)).where(s.c.profile_id == profile_id, s.c.stage == stage).exists()
    return func.sum(case((hit, 1), else_=0))


def touchpoints(
    conn: Connection, population: Population
) -> list[tuple[str | None, str, str, int, int]]:
    """(stage at send time, channel, content, sent, all) for the population's deliveries
    (of the population's flow, when it has one) since the period start. The stage is the
    one kept on each row (engine.store.stages); an index covers the whole statement."""
    d = deliveries
    stage = d.c.stage
    sent = func.sum(case((d.c.status == "sent", 1), else_=0))
    query = select(stage, d.c.channel, d.c.content, sent, func.count()).where(
        d.c.profile_id.in_(population.profile_ids())
    )
    if population.flow is not None:
        query = query.where(d.c.flow == population.flow)
    if population.since is not None:
        query = query.where(d.c.created_at >= population.since)
    query = query.group_by(stage, d.c.channel, d.c.content)
    return [(st, ch, co, int(s or 0), int(n)) for st, ch, co, s, n in conn.execute(query)]


def actions(conn: Connection, population: Population) -> list[tuple[str | None, str, int, int]]:
    """(stage at the time, event name, events, profiles) of the population's tracked events
    since the period start: what users do while they are at each stage."""
    e = events
    stage = e.c.stage
    query = select(stage, e.c.name, func.count(), func.count(func.distinct(e.c.profile_id))).where(
        e.c.profile_id.in_(population.profile_ids()), e.c.type == "track"
    )
    if population.since is not None:
        query = query.where(e.c.timestamp >= population.since)
    query = query.group_by(stage, e.c.name)
    return [(st, name, int(n), int(p)) for st, name, n, p in conn.execute(query)]


def personas_present(conn: Connection) -> dict[str | None, int]:
    """Profiles per primary persona (None: without one), from the persona index."""
    query = select(profiles.c.persona, func.count()).group_by(profiles.c.persona)
    return {persona: int(n) for persona, n in conn.execute(query)}
