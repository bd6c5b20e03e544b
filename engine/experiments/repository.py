"""Every SQL statement of experiments: assignments in, per-group metric sums out.

Results never read per-profile rows into Python: each query returns one row per
(variant, persona at exposure) with COUNT/SUM aggregates, the sufficient statistics that
engine.experiments.arms.ArmStats takes. A metric's window is relative to each profile's
exposure, so the SQL shifts `exposed_at` by a number of seconds; `Shifted` renders that for
each backend, exactly (SQLite keeps the stored microseconds, PostgreSQL adds an interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
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
from engine.experiments.covariates import PRE_WINDOW, Covariate, Measured
from engine.store.base import UTCDateTime
from engine.store.experiment_tables import ExperimentAssignment, ExperimentMixedExposure
from engine.store.tables import Event, Profile, StageEntry

assignments = ExperimentAssignment.__table__  # type: ignore[attr-defined]
mixed_exposures = ExperimentMixedExposure.__table__  # type: ignore[attr-defined]
stage_entries = StageEntry.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
profiles = Profile.__table__  # type: ignore[attr-defined]

ANALYSIS_WORK_MEM = "64MB"  # PostgreSQL, for the results transaction only
ACTIVITY_TYPES = ("track", "page", "screen")
"""Event types that show a profile was active (retention); not identify, not internal."""


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
    # printf's %+d signs the shift either way ('+-5 seconds' would be NULL).
    column, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', {column}, printf('%+d seconds', {seconds}))"
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
    merged profile's other ones, so an exposure before identify stays sticky after it.
    Where both were exposed in different variants the survivor is recorded as mixed
    (engine.experiments.health); the merged profile's own mixed records move with it.
    (engine.experiments.outcomes.merge_assignments also keeps the folded outcomes right.)"""
    a, m = assignments, mixed_exposures
    mine, other = a.alias("mine"), a.alias("other")
    clash = (
        select(mine.c.experiment, mine.c.profile_id, mine.c.variant, other.c.variant)
        .join(other, other.c.experiment == mine.c.experiment)
        .where(mine.c.profile_id == survivor, other.c.profile_id == gone)
        .where(mine.c.variant != other.c.variant)
    )
    columns = ["experiment", "profile_id", "variant", "other_variant"]
    insert = (sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert)(m)
    conn.execute(insert.from_select(columns, clash).on_conflict_do_nothing())
    recorded = select(m.c.experiment).where(m.c.profile_id == survivor).scalar_subquery()
    conn.execute(
        update(m)
        .where(m.c.profile_id == gone, m.c.experiment.not_in(recorded))
        .values(profile_id=survivor)
    )
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


def mixed_counts(conn: Connection, key: str) -> dict[str, int]:
    """Per kept variant, the profiles of `key` that saw another variant too (a few rows)."""
    m = mixed_exposures
    query = select(m.c.variant, func.count()).where(m.c.experiment == key).group_by(m.c.variant)
    return {variant: int(n) for variant, n in conn.execute(query)}


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


def population(
    conn: Connection,
    key: str,
    cutoffs: Sequence[datetime],
    where: ColumnElement[bool] | None = None,
) -> list[Sequence[Any]]:
    """Per (variant, persona): exposures, first and last exposure, and the profiles exposed
    by each cutoff (a metric's eligible profiles), of the assignments matching `where`."""
    a = assignments
    eligible = [_count_if(a.c.exposed_at <= cutoff) for cutoff in cutoffs]
    exposed_range = (func.min(a.c.exposed_at), func.max(a.c.exposed_at))
    query = (
        select(a.c.variant, a.c.persona, func.count(), *exposed_range, *eligible)
        .where(a.c.experiment == key, where if where is not None else literal(True))
        .group_by(a.c.variant, a.c.persona)
    )
    return [tuple(row) for row in conn.execute(query)]


def profile_values(key: str, metric: Measured, where: ColumnElement[bool]) -> Select[Any]:
    """(profile_id, variant, persona, exposed_at, value) of every profile exposed to `key`
    and matching `where` whose value of `metric` is not 0 (the others have no row)."""
    a = assignments
    columns = (a.c.profile_id, a.c.variant, a.c.persona, a.c.exposed_at)
    if isinstance(metric, Covariate):
        return _covariate_values(key, metric, where)
    if isinstance(metric, StageMetric):
        # A profile enters a stage at most once: one row per converted profile.
        s = stage_entries
        on = and_(s.c.profile_id == a.c.profile_id, s.c.stage == metric.stage)
        window = _window(s.c.entered_at, timedelta(0), metric.within, closed=True)
        return (
            select(*columns, literal(1.0).label("value"))
            .select_from(a.join(s, on))
            .where(a.c.experiment == key, where, *window)
        )
    count = func.count() if metric.measure == "mean" else literal(1)
    return (
        select(*columns, cast(count, Float).label("value"))
        .select_from(a.join(events, events.c.profile_id == a.c.profile_id))
        .where(a.c.experiment == key, where, *_event_match(metric))
        # The primary key: variant and persona depend on it, and SQLite streams in its order.
        .group_by(a.c.experiment, a.c.profile_id)
    )


def _covariate_values(key: str, covariate: Covariate, where: ColumnElement[bool]) -> Select[Any]:
    """x, the events counted in the pre-exposure window, or x·y (engine.experiments.covariates)."""
    a = assignments
    event = covariate.event
    counted = events.c.name == event if event else events.c.type.in_(ACTIVITY_TYPES)
    window = _window(events.c.timestamp, -PRE_WINDOW, timedelta(0), closed=False)
    xs = (
        select(
            a.c.profile_id,
            a.c.variant,
            a.c.persona,
            a.c.exposed_at,
            cast(func.count(), Float).label("value"),
        )
        .select_from(a.join(events, events.c.profile_id == a.c.profile_id))
        .where(a.c.experiment == key, where, counted, *window)
        .group_by(a.c.experiment, a.c.profile_id)
    )
    if not covariate.product:
        return xs
    x, y = xs.subquery(), profile_values(key, covariate.metric, where).subquery()
    return select(
        x.c.profile_id,
        x.c.variant,
        x.c.persona,
        x.c.exposed_at,
        (x.c.value * y.c.value).label("value"),
    ).select_from(x.join(y, y.c.profile_id == x.c.profile_id))


def export_rows(key: str, metric: Metric, cutoff: datetime, order: Sequence[str]) -> Select[Any]:
    """(profile_id, user_id, variant, persona, value, covariate) of every profile exposed to
    `key` by `cutoff`, 0 where it has no value, variants in `order` then by profile: the one
    per-profile read of this package, for the export."""
    a, p = assignments, profiles
    counted = a.c.exposed_at <= cutoff
    values = profile_values(key, metric, counted).subquery()
    pre = profile_values(key, Covariate(metric), counted).subquery()
    rank = case({name: i for i, name in enumerate(order)}, value=a.c.variant, else_=len(order))
    joined = (
        a.outerjoin(p, p.c.id == a.c.profile_id)
        .outerjoin(values, values.c.profile_id == a.c.profile_id)
        .outerjoin(pre, pre.c.profile_id == a.c.profile_id)
    )
    return (
        select(
            a.c.profile_id,
            p.c.user_id,
            a.c.variant,
            a.c.persona,
            func.coalesce(values.c.value, 0.0),
            func.coalesce(pre.c.value, 0.0),
        )
        .select_from(joined)
        .where(a.c.experiment == key, counted)
        .order_by(rank, a.c.variant, a.c.profile_id)
    )


def event_values(
    key: str, chosen: Sequence[tuple[Metric, ColumnElement[bool]]], where: ColumnElement[bool]
) -> Select[Any]:
    """(variant, persona, exposed_at, y0, y1, ...) per profile exposed to `key`, matching
    `where` and with events: yᵢ is the value of the i-th metric for the profiles matching
    its condition, else 0. One pass over the events for every event metric."""
    a = assignments
    ys = []
    for index, (metric, condition) in enumerate(chosen):
        hit = case((and_(condition, *_event_match(metric)), 1), else_=0)
        y = func.sum(hit) if metric.measure == "mean" else func.max(hit)
        ys.append(y.label(f"y{index}"))
    return (
        select(a.c.variant, a.c.persona, a.c.exposed_at, *ys)
        .select_from(a.join(events, events.c.profile_id == a.c.profile_id))
        .where(a.c.experiment == key, where, events.c.timestamp >= a.c.exposed_at)
        .group_by(a.c.experiment, a.c.profile_id)
    )


def value_sums(
    values: Select[Any],
    cutoffs: Sequence[datetime],
    keys: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> Select[Any]:
    """Per (variant, persona), Σy and Σy² of `values` over the profiles exposed by each
    cutoff. `keys` pairs each cutoff with a metric key when `values` mixes metrics in
    rows; `columns` names each cutoff's value column when they are side by side."""
    rows = values.subquery()
    sums: list[ColumnElement[Any]] = []
    for index, cutoff in enumerate(cutoffs):
        counted = rows.c.exposed_at <= cutoff
        if keys is not None:
            counted = and_(counted, rows.c.metric == keys[index])
        value = rows.c[columns[index]] if columns is not None else rows.c.value
        y = case((counted, value), else_=0.0)
        sums += [func.sum(y), func.sum(y * y)]
    return select(rows.c.variant, rows.c.persona, *sums).group_by(rows.c.variant, rows.c.persona)


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
