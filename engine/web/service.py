"""Page data of the overview, the stage funnel with cohorts, and the journey map.

Each function runs a handful of aggregate statements (engine.web.repository) and shapes
their rows into what a template shows; nothing here loops over profiles. Stages come from
the catalog: the ordered ones form the journey (funnel steps, journey-map columns), the first
of them is the anchor that "time to stage" and cohorts count from ("signup" in the example
content), and unordered ones are milestones shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog
from engine.experiments.schemas import ExperimentPublic
from engine.experiments.service import list_experiments
from engine.web import repository as repo
from engine.web.sql import Population, week_start
from engine.web.summaries import (
    Transition,
    median_from_histogram,
    pain_points,
    retained_from,
    transitions,
)

PERIODS = {7: "last 7 days", 30: "last 30 days", 90: "last 90 days", 0: "all time"}
DEFAULT_DAYS = 30
COHORT_WEEKS = 12
RETENTION_WEEKS = 8
CHANNELS = {"email": "Emails", "tutorial": "Tutorials", "tip": "Tips", "webhook": "Webhooks"}


@dataclass(frozen=True)
class Filters:
    """What a page is about: a flow, a persona and a period (days back; 0 for all time)."""

    flow: str | None = None
    persona: str | None = None
    days: int = DEFAULT_DAYS

    def since(self, now: datetime) -> datetime | None:
        return now - timedelta(days=self.days) if self.days else None


def journey_stages(catalog: Catalog) -> tuple[list[str], list[str]]:
    """(ordered stages: the journey, unordered ones: milestones), in catalog order."""
    ordered = [s.stage for s in catalog.stages if s.ordered]
    others = [s.stage for s in catalog.stages if not s.ordered]
    return (ordered or others), (others if ordered else [])


def anchor_of(catalog: Catalog) -> str:
    ordered, _ = journey_stages(catalog)
    return ordered[0] if ordered else ""


# -- overview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowSummary:
    flow: str
    description: str
    runs: int
    open: int
    converted: int
    skipped: int

    @property
    def conversion(self) -> float | None:
        entered = self.runs - self.skipped
        return self.converted / entered if entered else None


@dataclass(frozen=True)
class Overview:
    totals: repo.Totals
    stages: list[tuple[str, int]]
    signups: list[tuple[datetime, int]]
    anchor: str
    flows: list[FlowSummary]
    experiments: list[ExperimentPublic]
    since: datetime | None
    days: int


def overview(conn: Connection, catalog: Catalog, now: datetime, days: int) -> Overview:
    """Headline numbers, stage totals, signups per week, flows and experiments."""
    since = Filters(days=days).since(now)
    anchor = anchor_of(catalog)
    counts = repo.stage_counts(conn)
    start = now - timedelta(weeks=COHORT_WEEKS)
    weekly = repo.anchor_by_week(conn, anchor, start) if anchor else {}
    by_flow = repo.runs_by_flow(conn, since)
    flows = [_flow_summary(name, catalog, by_flow) for name in sorted(catalog.flows)]
    return Overview(
        totals=repo.totals(conn),
        stages=[(s.stage, counts.get(s.stage, 0)) for s in catalog.stages],
        signups=[(week_start(w), n) for w, n in sorted(weekly.items())],
        anchor=anchor,
        flows=flows,
        experiments=list_experiments(conn, catalog).data,
        since=since,
        days=days,
    )


def _flow_summary(name: str, catalog: Catalog, by_flow: dict[str, repo.FlowRuns]) -> FlowSummary:
    found = by_flow.get(name, repo.FlowRuns())
    mine = found.statuses
    return FlowSummary(
        flow=name,
        description=catalog.flows[name].description,
        runs=sum(mine.values()),
        open=mine.get("active", 0) + mine.get("waiting", 0),
        converted=found.converted,
        skipped=mine.get("skipped", 0),
    )


# -- funnel and cohorts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    week: datetime
    number: int  # engine.web.sql.week_of
    size: int
    reached: dict[str, int]  # later ordered stage -> profiles of the cohort who reached it
    retained: list[int | None]  # per week 1..RETENTION_WEEKS; None while not observable


@dataclass(frozen=True)
class Funnel:
    anchor: str
    steps: list[tuple[str, int]]
    transitions: list[Transition]
    milestones: list[tuple[str, int]]
    cohorts: list[Cohort]
    later: list[str]
    retention_weeks: int
    filters: Filters


def funnel(conn: Connection, catalog: Catalog, now: datetime, filters: Filters) -> Funnel:
    """The ordered stages as a funnel of the profiles who reached the anchor in the period,
    and signup-week cohorts: how far each got and how many are still seen N weeks on."""
    ordered, others = journey_stages(catalog)
    anchor = ordered[0] if ordered else ""
    population = Population(anchor, None, filters.persona, filters.since(now))
    counts = repo.stage_counts(conn, population)
    later = ordered[1:]
    start = _monday(now - timedelta(weeks=COHORT_WEEKS - 1))
    rows = repo.cohorts(conn, anchor, start, later, filters.persona) if anchor else []
    return Funnel(
        anchor=anchor,
        steps=[(s, counts.get(s, 0)) for s in ordered],
        transitions=transitions(ordered, counts),
        milestones=[(s, counts.get(s, 0)) for s in others],
        cohorts=_cohorts(rows, later, now),
        later=later,
        retention_weeks=RETENTION_WEEKS,
        filters=filters,
    )


def _monday(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _cohorts(
    rows: list[tuple[int, int, int, tuple[int, ...]]], later: list[str], now: datetime
) -> list[Cohort]:
    sizes: dict[int, int] = defaultdict(int)
    seen: dict[int, dict[int, int]] = defaultdict(dict)
    reached: dict[int, list[int]] = defaultdict(lambda: [0] * len(later))
    for week, weeks_seen, n, stages in rows:
        sizes[week] += n
        seen[week][weeks_seen] = seen[week].get(weeks_seen, 0) + n
        reached[week] = [a + b for a, b in zip(reached[week], stages, strict=True)]
    out = []
    for week in sorted(sizes, reverse=True):
        begins = week_start(week)
        if begins > now:  # a signup dated after now (stored before times were clamped)
            continue
        retained = [
            retained_from(seen[week], k) if begins + timedelta(weeks=k + 1) <= now else None
            for k in range(1, RETENTION_WEEKS + 1)
        ]
        out.append(
            Cohort(
                begins, week, sizes[week], dict(zip(later, reached[week], strict=True)), retained
            )
        )
    return out


# -- journey map ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    content: str
    sent: int
    total: int


@dataclass(frozen=True)
class Column:
    """One stage of the journey map."""

    stage: str
    reached: int
    share: float | None  # of the population
    conversion: float | None  # from the previous stage
    drop_off: int | None  # profiles lost since the previous stage
    pain_point: bool
    median_seconds: float | None  # from the anchor stage
    touchpoints: dict[str, list[Touch]] = field(default_factory=dict)  # by channel
    actions: list[tuple[str, int, int]] = field(default_factory=list)  # name, events, people


@dataclass(frozen=True)
class JourneyMap:
    filters: Filters
    anchor: str
    population: int
    columns: list[Column]  # every stage, in catalog order
    channels: dict[str, str]
    before: Column | None  # touchpoints and actions before the first stage, if any


def journey_map(conn: Connection, catalog: Catalog, now: datetime, filters: Filters) -> JourneyMap:
    """Stages as columns; reach, conversion, drop-off (worst ones flagged), median time to
    stage, and the touchpoints and user actions that happened while profiles were there."""
    ordered, _ = journey_stages(catalog)
    anchor = ordered[0] if ordered else ""
    population = Population(anchor, filters.flow, filters.persona, filters.since(now))
    histogram: dict[str, dict[int, int]] = defaultdict(dict)
    reached: dict[str, int] = defaultdict(int)
    for stage, hours, n in repo.stage_histogram(conn, population):
        reached[stage] += n
        if hours is not None:
            histogram[stage][hours] = histogram[stage].get(hours, 0) + n
    size = (
        reached.get(anchor, 0) if filters.flow is None else repo.population_size(conn, population)
    )
    steps = transitions(ordered, reached)
    worst = pain_points(steps)
    columns = [_column(s.stage, reached, histogram, size, steps, worst) for s in catalog.stages]
    before = Column("before any stage", 0, None, None, None, False, None)
    _place(conn, population, {c.stage: c for c in columns}, before)
    has_before = bool(before.touchpoints or before.actions)
    return JourneyMap(filters, anchor, size, columns, CHANNELS, before if has_before else None)


def _column(
    stage: str,
    reached: dict[str, int],
    histogram: dict[str, dict[int, int]],
    size: int,
    steps: list[Transition],
    worst: set[str],
) -> Column:
    into = next((t for t in steps if t.target == stage), None)
    median = median_from_histogram(histogram.get(stage, {}))
    return Column(
        stage=stage,
        reached=reached.get(stage, 0),
        share=reached.get(stage, 0) / size if size else None,
        conversion=into.conversion if into else None,
        drop_off=(into.reached - into.kept) if into else None,
        pain_point=stage in worst,
        median_seconds=None if median is None else median * 3600,
    )


def _place(
    conn: Connection, population: Population, columns: dict[str, Column], before: Column
) -> None:
    """Touchpoints and actions go into the column of the stage the profile was in."""
    for stage, channel, content, sent, total in repo.touchpoints(conn, population):
        column = columns.get(stage or "", before)
        column.touchpoints.setdefault(channel, []).append(Touch(content, sent, total))
    for stage, name, n, people in repo.actions(conn, population):
        columns.get(stage or "", before).actions.append((name, n, people))
    for column in [*columns.values(), before]:
        for touches in column.touchpoints.values():
            touches.sort(key=lambda t: -t.total)
        column.actions.sort(key=lambda a: -a[2])
        del column.actions[6:]
