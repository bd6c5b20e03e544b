"""The profiles behind a dashboard count: one paged list, filterable by persona and search.

Each count of the journey map, the funnel, the cohorts and the flow page links here with
the filters that produced it (`Who`), so the list is the same population the count came
from, read from the rows: a stage reached (journey map, funnel), a signup week and a later
stage (cohorts), or a flow's step and what happened there (flow page). A page is one
`LIMIT`/`OFFSET` over an `IN (subquery)` of profile ids, and its total one `COUNT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, RowMapping, String, cast, func, or_, select

from engine.web.flow_service import SECOND_VISIT
from engine.web.sql import (
    Population,
    deliveries,
    events,
    journey,
    persona_is,
    profiles,
    runs,
    stage_entries,
    timers,
    week_of,
)

PAGE_SIZE = 50
STEP_FIGURES = ("entered", "delivered", "waiting", "converted")
"""What a flow page's step count can be drilled into."""
OPEN = ("active", "waiting")
RUN_STATUSES = ("open", "completed", "converted", "exited", "skipped", "failed")
LISTED = (profiles.c.id, profiles.c.user_id, profiles.c.persona, profiles.c.last_seen_at)


@dataclass(frozen=True)
class Who:
    """The filters of a profile list; every one is optional. `days` is the period of the
    page the count came from (0: all time), `cohort` a `week_of` number."""

    stage: str | None = None
    flow: str | None = None
    step: str | None = None
    figure: str | None = None  # one of STEP_FIGURES with `step`; "converted" alone
    outcome: str | None = None  # with `step`: a fork's way out (then, a persona, timed out)
    status: str | None = None  # the flow's runs with this status ("open": active, waiting)
    reason: str | None = None  # with `status`: their end reason
    at: str | None = None  # the stage at the time of an `event` or a delivery of `content`
    event: str | None = None  # journey map: a user action (track event) at stage `at`
    channel: str | None = None  # journey map: a touchpoint, sent at stage `at`
    content: str | None = None
    cohort: int | None = None
    persona: str | None = None
    days: int = 0
    q: str = ""

    def query(self, page: int = 0) -> str:
        """The query string of this list's page `page`."""
        values = {k: v for k, v in vars(self).items() if v not in (None, "")}
        return urlencode(values | ({"page": page} if page else {}))

    def filters(self) -> list[tuple[str, Any]]:
        """The filters that name the count (kept by the search form), without the search
        and the persona, which the form sets."""
        return [
            (k, v)
            for k, v in vars(self).items()
            if v not in (None, "") and k not in ("q", "persona")
        ]


@dataclass(frozen=True)
class ProfileList:
    who: Who
    total: int
    page: int
    rows: list[RowMapping]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def profile_list(
    conn: Connection, anchor: str, who: Who, since: datetime | None, page: int
) -> ProfileList:
    """One page of the profiles `who` describes, by user id, and how many there are."""
    ids = profile_ids(anchor, who, since)
    where = [] if ids is None else [profiles.c.id.in_(ids)]
    if who.persona:
        where.append(persona_is(who.persona))
    if who.q:
        where.append(_matching(who.q))
    total = conn.execute(select(func.count()).select_from(profiles).where(*where)).scalar_one()
    page = max(0, page)
    query = (
        select(*LISTED)
        .where(*where)
        .order_by(profiles.c.user_id, profiles.c.id)
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
    )
    return ProfileList(who, int(total), page, list(conn.execute(query).mappings()))


def profile_ids(anchor: str, who: Who, since: datetime | None) -> Any:
    """The subquery of the profile ids behind a count (see the module docstring); None
    when `who` names no count (every profile)."""
    if who.flow is not None and (who.step or who.figure or who.status):
        query = _of_flow(who, since)
    elif who.at is not None and (who.event or who.content):
        query = _at_stage(anchor, who, since)
    elif who.cohort is not None:
        a = stage_entries.alias("a")
        query = select(a.c.profile_id).where(
            a.c.stage == anchor, week_of(a.c.entered_at) == who.cohort
        )
        if who.stage is not None:
            query = query.where(a.c.profile_id.in_(_reached(who.stage)))
    elif who.flow is None and who.stage is None:
        return None
    else:
        population = Population(anchor, who.flow, None, since).profile_ids()
        if who.stage is None:
            query = population
        else:
            query = _reached(who.stage).where(stage_entries.c.profile_id.in_(population))
    return query


def _at_stage(anchor: str, who: Who, since: datetime | None) -> Any:
    """The journey map's population who did `event`, or were sent `content` on `channel`
    (of the map's flow), while their latest stage was `at`, since `since`."""
    population = Population(anchor, who.flow, None, since).profile_ids()
    if who.event:
        e = events
        query = select(e.c.profile_id).where(e.c.type == "track", e.c.name == who.event)
        query = query.where(e.c.stage == who.at, e.c.profile_id.in_(population))
        return query if since is None else query.where(e.c.timestamp >= since)
    d = deliveries
    query = select(d.c.profile_id).where(d.c.channel == who.channel, d.c.content == who.content)
    query = query.where(d.c.status == "sent", d.c.stage == who.at, d.c.profile_id.in_(population))
    if who.flow is not None:
        query = query.where(d.c.flow == who.flow)
    return query if since is None else query.where(d.c.created_at >= since)


def _reached(stage: str) -> Any:
    return select(stage_entries.c.profile_id).where(stage_entries.c.stage == stage)


def _of_flow(who: Who, since: datetime | None) -> Any:
    """Profiles of the flow's runs entered since `since`: those sent the step's message
    (delivered), waiting there now (waiting), that reached the step (entered, or left it by
    `outcome`), or all the flow's runs (by `status` and `reason`); "converted" keeps the
    runs that converted."""
    flow, step, figure = who.flow, who.step, who.figure or "entered"
    if figure == "delivered":
        query = (
            select(deliveries.c.profile_id)
            .join(runs, runs.c.id == deliveries.c.run_id)
            .where(deliveries.c.flow == flow, deliveries.c.step == step)
            .where(deliveries.c.status == "sent")
        )
    elif figure == "waiting":
        query = (
            select(runs.c.profile_id)
            .join(timers, timers.c.run_id == runs.c.id)
            .where(runs.c.flow == flow, runs.c.status == "waiting", timers.c.step == step)
        )
    elif step is None:
        query = select(runs.c.profile_id).where(runs.c.flow == flow)
        if who.status is None:
            query = query.where(runs.c.status != "skipped")
        else:
            statuses = OPEN if who.status == "open" else (who.status,)
            query = query.where(runs.c.status.in_(statuses))
        if who.reason is not None:
            query = query.where(runs.c.end_reason == who.reason)
    else:
        outcome = journey.c.outcome
        query = (
            select(runs.c.profile_id)
            .join(journey, journey.c.run_id == runs.c.id)
            .where(runs.c.flow == flow, journey.c.step == step)
            .where(outcome.not_in(SECOND_VISIT) if who.outcome is None else outcome == who.outcome)
        )
    if figure == "converted":
        query = query.where(runs.c.converted_at.is_not(None))
    if since is not None:
        query = query.where(runs.c.entered_at >= since)
    return query


def _matching(text: str) -> Any:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        profiles.c.user_id.ilike(pattern, escape="\\"),
        cast(profiles.c.traits, String).ilike(pattern, escape="\\"),
    )
