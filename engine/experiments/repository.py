"""Every SQL statement of experiments: assignments in, per-group metric sums out.

Results never read per-profile rows into Python: each query returns one row per
(variant, persona at exposure) with COUNT/SUM aggregates, the sufficient statistics that
engine.experiments.arms.ArmStats takes. A metric's window is relative to each profile's
exposure, so the SQL shifts `exposed_at` by a number of seconds; `Shifted` renders that for
each backend, exactly (SQLite keeps the stored microseconds, PostgreSQL adds an interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.catalog.metrics import (
    EventCountMetric,
    EventMetric,
    Metric,
    RetentionMetric,
    StageMetric,
)
from engine.store.base import UTCDateTime
from engine.store.experiment_tables import ExperimentAssignment
from engine.store.tables import Event, Profile, StageEntry

assignments = ExperimentAssignment.__table__  # type: ignore[attr-defined]
stage_entries = StageEntry.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
profiles = Profile.__table__  # type: ignore[attr-defined]

ANALYSIS_WORK_MEM = "64MB"  # PostgreSQL, for the results transaction only
ACTIVITY_TYPES = ("track", "page", "screen")
"""Event types that show a profile was active (retention); not identify, not internal."""

Group = tuple[str, str | None]  # (variant, persona at exposure)


@dataclass(frozen=True)
class StoredAssignment:
    variant: str
    bucket: int
    exposed_at: datetime


@dataclass(frozen=True)
class ExposureRow:
    experiment: str
    variant: str
    users: int
    first_exposed_at: datetime | None
    last_exposed_at: datetime | None


class Shifted(FunctionElement[datetime]):
    """`timestamp + seconds`, exact on both backends; see the module docstring."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(Shifted, "sqlite")
def _shifted_sqlite(element: Shifted, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': shift the whole seconds, keep the fraction.
    column, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || {seconds} || ' seconds')"
        f" || substr({column}, 20))"
    )


@compiles(Shifted, "postgresql")
def _shifted_postgresql(element: Shifted, compiler: SQLCompiler, **kw: Any) -> str:
    column, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({column} + make_interval(secs => {seconds}))"


def find_assignment(conn: Connection, key: str, profile_id: int) -> StoredAssignment | None:
    query = select(assignments.c.variant, assignments.c.bucket, assignments.c.exposed_at).where(
        assignments.c.experiment == key, assignments.c.profile_id == profile_id
    )
    row = conn.execute(query).first()
    return None if row is None else StoredAssignment(row[0], row[1], row[2])


def insert_assignment(
    conn: Connection, key: str, profile_id: int, variant: str, bucket: int, exposed_at: datetime
) -> bool:
    """Store a first exposure with the profile's current persona; False if one exists.

    ON CONFLICT DO NOTHING makes two concurrent first exposures safe: one row wins and the
    loser reads it back instead of failing its transaction.
    """
    persona = select(profiles.c.persona).where(profiles.c.id == profile_id).scalar_subquery()
    values = {
        "experiment": key,
        "profile_id": profile_id,
        "variant": variant,
        "bucket": bucket,
        "persona": persona,
        "exposed_at": exposed_at,
    }
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = dialect_insert(assignments).values(values).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports no row count for ON CONFLICT DO NOTHING.
    inserted = conn.execute(statement.returning(assignments.c.profile_id)).first()
    return inserted is not None


def move_assignments(conn: Connection, gone: int, survivor: int) -> None:
    """When two profiles merge, the survivor keeps its own assignments and takes over the
    merged profile's other ones, so an exposure before identify stays sticky after it."""
    a = assignments
    theirs = select(a.c.experiment).where(a.c.profile_id == survivor).scalar_subquery()
    conn.execute(
        update(a)
        .where(a.c.profile_id == gone, a.c.experiment.not_in(theirs))
        .values(profile_id=survivor)
    )


def exposures(conn: Connection, keys: Sequence[str]) -> list[ExposureRow]:
    """Exposed profiles per (experiment, variant), with the first and last exposure."""
    a = assignments
    query = (
        select(a.c.experiment, a.c.variant, func.count(), func.min(a.c.exposed_at))
        .add_columns(func.max(a.c.exposed_at))
        .where(a.c.experiment.in_(list(keys)))
        .group_by(a.c.experiment, a.c.variant)
    )
    return [ExposureRow(k, v, int(n), first, last) for k, v, n, first, last in conn.execute(query)]


def consistent(conn: Connection) -> Connection:
    """The connection reading one snapshot for all the queries of a results computation.

    SQLite's read transaction is a snapshot already; PostgreSQL's default READ COMMITTED
    takes one per statement, so the event metrics could count profiles the first query
    did not.
    """
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        # Per-profile aggregates of a large experiment spill to disk at the 4 MB default.
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{ANALYSIS_WORK_MEM}'")
    return conn


@dataclass(frozen=True)
class GroupSums:
    """One (variant, persona) group: its exposures, and per metric the eligible profiles
    (exposed before the metric's cutoff) and Σy, Σy² over them."""

    exposed: int
    first_exposed_at: datetime | None
    last_exposed_at: datetime | None
    eligible: tuple[int, ...]
    sums: tuple[tuple[float, float], ...]


def group_sums(
    conn: Connection, key: str, metrics: Sequence[Metric], cutoffs: Sequence[datetime]
) -> dict[Group, GroupSums]:
    """Every metric's sufficient statistics per group, in at most two aggregate queries.

    The first scans the assignments once: exposures, eligibility per metric and the stage
    metrics (one LEFT JOIN per stage measured: a profile enters a stage at most once). The
    second, when an event metric is asked for, joins the exposed profiles' events once and
    computes every event metric per profile, then sums them per group.
    """
    stage_at = [i for i, m in enumerate(metrics) if isinstance(m, StageMetric)]
    event_at = [i for i in range(len(metrics)) if i not in stage_at]
    out: dict[Group, GroupSums] = {}
    for row in conn.execute(_population_query(key, metrics, cutoffs)):
        eligible = tuple(int(n or 0) for n in row[5 : 5 + len(metrics)])
        sums = [(0.0, 0.0)] * len(metrics)
        for index, converted in zip(stage_at, row[5 + len(metrics) :], strict=True):
            sums[index] = (float(converted or 0), float(converted or 0))
        out[(row[0], row[1])] = GroupSums(int(row[2]), row[3], row[4], eligible, tuple(sums))
    if event_at and any(any(g.eligible) for g in out.values()):
        chosen = [(metrics[i], cutoffs[i]) for i in event_at]
        for row in conn.execute(_events_query(key, chosen)):
            group = out[(row[0], row[1])]
            sums = list(group.sums)
            for j, index in enumerate(event_at):
                sums[index] = (float(row[2 + 2 * j] or 0), float(row[3 + 2 * j] or 0))
            out[(row[0], row[1])] = replace(group, sums=tuple(sums))
    return out


def _population_query(
    key: str, metrics: Sequence[Metric], cutoffs: Sequence[datetime]
) -> Select[Any]:
    a = assignments
    joined: FromClause = a
    entries: dict[str, FromClause] = {}
    for metric in metrics:
        if isinstance(metric, StageMetric) and metric.stage not in entries:
            s = entries[metric.stage] = stage_entries.alias(f"stage_{len(entries)}")
            on = and_(s.c.profile_id == a.c.profile_id, s.c.stage == metric.stage)
            joined = joined.outerjoin(s, on)
    eligible = [_count_if(a.c.exposed_at <= cutoff) for cutoff in cutoffs]
    converted = [
        _count_if(
            and_(
                a.c.exposed_at <= cutoff,
                *_window(entries[m.stage].c.entered_at, timedelta(0), m.within, closed=True),
            )
        )
        for m, cutoff in zip(metrics, cutoffs, strict=True)
        if isinstance(m, StageMetric)
    ]
    exposed_range = (func.min(a.c.exposed_at), func.max(a.c.exposed_at))
    return (
        select(a.c.variant, a.c.persona, func.count(), *exposed_range, *eligible, *converted)
        .select_from(joined)
        .where(a.c.experiment == key)
        .group_by(a.c.variant, a.c.persona)
    )


def _events_query(key: str, chosen: Sequence[tuple[Metric, datetime]]) -> Select[Any]:
    """Per profile (inner), each metric's value from one pass over its events; per group
    (outer), Σy and Σy². Profiles without events add 0 to every sum, so they need no row."""
    a = assignments
    values = []
    for index, (metric, cutoff) in enumerate(chosen):
        hit = case((and_(*_event_match(metric), a.c.exposed_at <= cutoff), 1), else_=0)
        value = func.sum(hit) if metric.measure == "mean" else func.max(hit)
        values.append(value.label(f"y{index}"))
    per_profile = (
        select(a.c.variant, a.c.persona, *values)
        .select_from(a.join(events, events.c.profile_id == a.c.profile_id))
        .where(
            a.c.experiment == key,
            a.c.exposed_at <= max(cutoff for _, cutoff in chosen),
            events.c.timestamp >= a.c.exposed_at,
        )
        # The primary key: variant and persona depend on it, and SQLite streams in its order.
        .group_by(a.c.experiment, a.c.profile_id)
        .subquery()
    )
    sums = []
    for index in range(len(chosen)):
        y = per_profile.c[f"y{index}"]
        sums += [func.sum(y), func.sum(y * y)]
    return select(per_profile.c.variant, per_profile.c.persona, *sums).group_by(
        per_profile.c.variant, per_profile.c.persona
    )


def _event_match(metric: Metric) -> list[ColumnElement[bool]]:
    """Which of the profile's events count for an event or retention metric, and when."""
    match metric:
        case EventMetric() | EventCountMetric():
            name = metric.event if isinstance(metric, EventMetric) else metric.event_count
            window = _window(events.c.timestamp, timedelta(0), metric.within, closed=True)
            return [events.c.name == name, *window]
        case RetentionMetric():
            start, end = metric.window_start, metric.window_end
            window = _window(events.c.timestamp, start, end, closed=False)
            return [events.c.type.in_(ACTIVITY_TYPES), *window]
        case StageMetric():
            raise ValueError("stage metrics are measured on stage entries, not events")


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def _window(
    at: ColumnElement[datetime], start: timedelta, end: timedelta, *, closed: bool
) -> list[ColumnElement[bool]]:
    """`at` within [exposure + start, exposure + end] (closed) or [.., ..) (half-open)."""
    exposed = assignments.c.exposed_at
    low = exposed if start == timedelta(0) else Shifted(exposed, _seconds(start))
    high = Shifted(exposed, _seconds(end))
    return [at >= low, at <= high if closed else at < high]


def _seconds(delta: timedelta) -> ColumnElement[int]:
    return literal(int(delta.total_seconds()), Integer)
