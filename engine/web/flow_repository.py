"""The SQL of the flow pages (per-step counts, errors) and of the profile page.

Per-step counts come from journey entries (what the interpreter decided at each step:
entered, skipped and why, branch taken, waited, timed out) and deliveries (what the
channels did: sent, skipped and why, failed and why). Both are summed from the counters the
runtime keeps per run entry day (`engine.flows.counters`); only the first, partial day of
a period and the deliveries still in flight are grouped from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, case, func, select

from engine.catalog.internal_events import EMAIL_CLICKED, EMAIL_OPENED
from engine.flows.counters import day_of
from engine.store.recount import SETTLED, delivery_counts, step_counts
from engine.web.sql import (
    assignments,
    deliveries,
    events,
    journey,
    memberships,
    profiles,
    runs,
    stage_entries,
    timers,
)

IN_FLIGHT = ("pending", "sending", "retrying")


@dataclass(frozen=True)
class StepOutcome:
    """Journey entries of one (step, kind, outcome, reason), and how many of their runs
    ended converted."""

    step: str
    kind: str
    outcome: str
    reason: str | None
    entries: int
    converted: int


@dataclass(frozen=True)
class DeliveryOutcome:
    step: str
    channel: str
    content: str
    status: str
    reason: str | None
    count: int


def run_outcomes(
    conn: Connection, flow: str, since: datetime | None
) -> list[tuple[str, str | None, int, int]]:
    """(status, end reason, runs, converted runs) of the flow's runs entered since `since`."""
    reason = case(
        (runs.c.status.in_(("skipped", "exited", "failed")), runs.c.end_reason), else_=None
    )
    converted = func.sum(case((runs.c.converted_at.is_not(None), 1), else_=0))
    query = select(runs.c.status, reason, func.count(), converted).where(runs.c.flow == flow)
    if since is not None:
        query = query.where(runs.c.entered_at >= since)
    rows = conn.execute(query.group_by(runs.c.status, reason))
    return [(status, why, int(n), int(k or 0)) for status, why, n, k in rows]


def step_outcomes(conn: Connection, flow: str, since: datetime | None) -> list[StepOutcome]:
    """Every step-level journey entry of the flow's runs entered since `since`, counted per
    outcome and reason: whole days from the counters, the partial first day from the rows.
    A (step, outcome, reason) may come twice; callers add them up."""
    first_day, partial = _split(since)
    c = step_counts
    keys = (c.c.step, c.c.kind, c.c.outcome, c.c.reason)
    counted = select(*keys, func.sum(c.c.entries), func.sum(c.c.converted)).where(c.c.flow == flow)
    if first_day is not None:
        counted = counted.where(c.c.day >= first_day)
    out = [
        StepOutcome(step, kind, outcome, why or None, int(n), int(k))
        for step, kind, outcome, why, n, k in conn.execute(counted.group_by(*keys))
    ]
    return out + (_entries_of_runs(conn, flow, *partial) if partial else [])


def _entries_of_runs(
    conn: Connection, flow: str, since: datetime, until: datetime
) -> list[StepOutcome]:
    """The journey entries of the runs entered in [since, until), grouped from the rows."""
    reason = journey.c.detail["reason"].as_string()
    converted = func.sum(case((runs.c.converted_at.is_not(None), 1), else_=0))
    query = (
        select(journey.c.step, journey.c.kind, journey.c.outcome, reason, func.count(), converted)
        .select_from(journey.join(runs, runs.c.id == journey.c.run_id))
        .where(runs.c.flow == flow, journey.c.step.is_not(None))
        .where(runs.c.entered_at >= since, runs.c.entered_at < until)
        .group_by(journey.c.step, journey.c.kind, journey.c.outcome, reason)
    )
    return [
        StepOutcome(step, kind, outcome, why, int(n), int(c or 0))
        for step, kind, outcome, why, n, c in conn.execute(query)
    ]


def delivery_outcomes(conn: Connection, flow: str, since: datetime | None) -> list[DeliveryOutcome]:
    """The flow's deliveries per (step, channel, content, status, reason), of the runs
    entered since `since`: settled ones of whole days from the counters, those in flight
    (few, and indexed by status) and the partial first day's from the rows."""
    first_day, partial = _split(since)
    c = delivery_counts
    keys = (c.c.step, c.c.channel, c.c.content, c.c.status, c.c.reason)
    counted = select(*keys, func.sum(c.c.deliveries)).where(c.c.flow == flow).group_by(*keys)
    if first_day is not None:
        counted = counted.where(c.c.day >= first_day)
    out = [
        DeliveryOutcome(step, channel, content, status, reason or None, int(n))
        for step, channel, content, status, reason, n in conn.execute(counted)
    ]
    status = deliveries.c.status
    out += _deliveries_of_runs(conn, flow, since, None, status.in_(IN_FLIGHT))
    if partial:
        out += _deliveries_of_runs(conn, flow, *partial, status.in_(SETTLED))
    return out


def _deliveries_of_runs(
    conn: Connection,
    flow: str,
    since: datetime | None,
    until: datetime | None,
    status: ColumnElement[bool],
) -> list[DeliveryOutcome]:
    """Deliveries with `status` of the flow's runs entered in [since, until), from the rows."""
    d = deliveries
    keys = (d.c.step, d.c.channel, d.c.content, d.c.status, d.c.reason)
    query = (
        select(*keys, func.count())
        .select_from(d.join(runs, runs.c.id == d.c.run_id))
        .where(d.c.flow == flow, status)
        .group_by(*keys)
    )
    if since is not None:
        query = query.where(runs.c.entered_at >= since)
    if until is not None:
        query = query.where(runs.c.entered_at < until)
    return [
        DeliveryOutcome(step, channel, content, status, reason, int(n))
        for step, channel, content, status, reason, n in conn.execute(query)
    ]


def _split(since: datetime | None) -> tuple[date | None, tuple[datetime, datetime] | None]:
    """(first whole UTC day after `since`, the partial day [since, that midnight) if any)."""
    if since is None:
        return None, None
    day = day_of(since)
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    if midnight == since:
        return day, None
    following = midnight + timedelta(days=1)
    return following.date(), (since, following)


def waiting_now(conn: Connection, flow: str, since: datetime | None) -> dict[str, int]:
    """Runs of the flow entered since `since` that wait now, per step: a waiting run has
    exactly one timer, at the step it waits at (the journey's "waiting" entries count every
    run that ever waited there, including the ones that moved on)."""
    query = (
        select(timers.c.step, func.count(func.distinct(runs.c.id)))
        .select_from(timers.join(runs, runs.c.id == timers.c.run_id))
        .where(runs.c.flow == flow, runs.c.status == "waiting")
        .group_by(timers.c.step)
    )
    if since is not None:
        query = query.where(runs.c.entered_at >= since)
    return {step: int(n) for step, n in conn.execute(query)}


def email_engagement(
    conn: Connection, flow: str, since: datetime | None
) -> dict[tuple[str, str], int]:
    """(step, event name) -> distinct deliveries of the flow opened or clicked, from the
    email_opened and email_clicked events (properties flow, step, delivery_id) since `since`.
    A scan of those events by name: the engagement link writes a few per email sent."""
    e = events
    step = e.c.properties["step"].as_string()
    delivery = e.c.properties["delivery_id"].as_string()
    query = (
        select(step, e.c.name, func.count(func.distinct(delivery)))
        .where(e.c.type == "track", e.c.name.in_((EMAIL_OPENED, EMAIL_CLICKED)))
        .where(e.c.properties["flow"].as_string() == flow)
        .group_by(step, e.c.name)
    )
    if since is not None:
        query = query.where(e.c.timestamp >= since)
    return {(str(s), str(name)): int(n) for s, name, n in conn.execute(query)}


def recent_failures(conn: Connection, flow: str, limit: int = 20) -> list[RowMapping]:
    """The latest failed or retrying deliveries of the flow, with their profile's user id."""
    d = deliveries
    query = (
        select(
            d.c.id,
            d.c.step,
            d.c.channel,
            d.c.content,
            d.c.status,
            d.c.reason,
            d.c.attempts,
            d.c.updated_at,
            d.c.next_attempt_at,
            profiles.c.user_id,
        )
        .select_from(d.join(profiles, profiles.c.id == d.c.profile_id))
        .where(d.c.flow == flow, d.c.status.in_(("failed", "retrying")))
        .order_by(d.c.updated_at.desc(), d.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


# -- profile page ---------------------------------------------------------------------------


def find_profile(conn: Connection, user_id: str) -> RowMapping | None:
    query = select(profiles).where(profiles.c.user_id == user_id)
    return conn.execute(query).mappings().first()


def profile_facts(conn: Connection, profile_id: int, event_limit: int) -> dict[str, list[Any]]:
    """A profile's stage entries, memberships, assignments and latest events."""
    stages = select(stage_entries.c.stage, stage_entries.c.entered_at).where(
        stage_entries.c.profile_id == profile_id
    )
    segments = select(
        memberships.c.segment, memberships.c.entered_at, memberships.c.exited_at
    ).where(memberships.c.profile_id == profile_id)
    exposed = select(
        assignments.c.experiment, assignments.c.variant, assignments.c.exposed_at
    ).where(assignments.c.profile_id == profile_id)
    latest = (
        select(events.c.id, events.c.type, events.c.name, events.c.timestamp, events.c.properties)
        .where(events.c.profile_id == profile_id)
        .order_by(events.c.id.desc())
        .limit(event_limit)
    )
    return {
        "stages": list(conn.execute(stages.order_by(stage_entries.c.entered_at)).mappings()),
        "segments": list(conn.execute(segments).mappings()),
        "assignments": list(conn.execute(exposed).mappings()),
        "events": list(conn.execute(latest).mappings()),
    }


def count_events(conn: Connection, profile_id: int) -> int:
    query = select(func.count()).where(events.c.profile_id == profile_id)
    return int(conn.execute(query).scalar_one())
