"""Counters from the raw rows, and the upsert that adds to them.

`recount` computes `step_counts` and `delivery_counts` by GROUP BY over journey entries,
deliveries and runs: the migration's backfill, `parcours db recount` (`rebuild`) after rows
were loaded around the engine, and (sign -1) the subtraction before a profile's runs go.
`add` is the one statement the runtime and the dispatcher use to add a batch's increments:
`n = n + excluded.n`, so concurrent writers on PostgreSQL never lose one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, Select, Table, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.store.counter_tables import DeliveryCount, StepCount
from engine.store.runtime_tables import Delivery, FlowRun, JourneyEntry

step_counts: Table = StepCount.__table__  # type: ignore[attr-defined]
delivery_counts: Table = DeliveryCount.__table__  # type: ignore[attr-defined]
runs: Table = FlowRun.__table__  # type: ignore[attr-defined]
journey: Table = JourneyEntry.__table__  # type: ignore[attr-defined]
deliveries: Table = Delivery.__table__  # type: ignore[attr-defined]

SETTLED = ("sent", "failed", "skipped")
"""Delivery statuses that never change again, so they can be counted once."""

Key = tuple[Any, ...]


def add(conn: Connection, table: Table, counts: Mapping[Key, tuple[int, ...]]) -> None:
    """One upsert adding `counts` to `table` (key columns first, then the counters)."""
    if counts:
        names = [c.name for c in table.columns]
        rows = [dict(zip(names, (*key, *n), strict=True)) for key, n in sorted(counts.items())]
        conn.execute(_adding(conn, table), rows)


def _adding(conn: Connection, table: Table, rows: Select[Any] | None = None) -> Any:
    """INSERT (of bound values, or of `rows`) adding to the counters of existing keys."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(table)
    if rows is not None:
        stmt = stmt.from_select([c.name for c in table.columns], rows)
    keys = [c.name for c in table.primary_key.columns]
    values = [c.name for c in table.columns if not c.primary_key]
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={v: table.c[v] + stmt.excluded[v] for v in values}
    )


class _Day(FunctionElement[date]):
    type = Date()
    inherit_cache = True


@compiles(_Day, "sqlite")
def _day_sqlite(element: _Day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(_Day, "postgresql")
def _day_postgresql(element: _Day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def step_keys() -> list[ColumnElement[Any]]:
    reason = func.coalesce(journey.c.detail["reason"].as_string(), "")
    return [
        runs.c.flow,
        _Day(runs.c.entered_at),
        journey.c.step,
        journey.c.kind,
        journey.c.outcome,
        reason,
    ]


def recount(conn: Connection, profile_ids: Collection[int] | None = None, sign: int = 1) -> None:
    """Add `sign` times the counts of the raw rows (of `profile_ids`' runs, or of all) in
    two INSERT ... SELECT statements: -1 before a profile's runs are deleted."""
    keys = step_keys()
    converted = func.sum(case((runs.c.converted_at.is_not(None), 1), else_=0))
    steps = (
        select(*keys, literal(sign) * func.count(), literal(sign) * converted)
        .select_from(journey.join(runs, runs.c.id == journey.c.run_id))
        .where(journey.c.step.is_not(None))
        .group_by(*keys)
    )
    d = deliveries
    settled = [d.c.flow, _Day(runs.c.entered_at), d.c.step, d.c.channel, d.c.content, d.c.status]
    settled.append(func.coalesce(d.c.reason, ""))
    sent = (
        select(*settled, literal(sign) * func.count())
        .select_from(d.join(runs, runs.c.id == d.c.run_id))
        .where(d.c.status.in_(SETTLED))
        .group_by(*settled)
    )
    if profile_ids is not None:
        steps = steps.where(runs.c.profile_id.in_(sorted(profile_ids)))
        sent = sent.where(runs.c.profile_id.in_(sorted(profile_ids)))
    conn.execute(_adding(conn, step_counts, steps))
    conn.execute(_adding(conn, delivery_counts, sent))


def rebuild(conn: Connection) -> None:
    """Replace both tables by a recount (`parcours db recount`, after a bulk load)."""
    conn.execute(step_counts.delete())
    conn.execute(delivery_counts.delete())
    recount(conn)


def forget_profiles(conn: Connection, profile_ids: Collection[int]) -> None:
    """Subtract the counts of profiles whose runs are about to be deleted (erasure, merge).

    Their deliveries, then their runs, are locked first (PostgreSQL), in the dispatcher's
    order: an outcome being recorded meanwhile is either counted before the subtraction
    reads the rows or, once they are gone, not recorded at all."""
    if profile_ids:
        ids = sorted(profile_ids)
        for table in (deliveries, runs):
            conn.execute(select(table.c.id).where(table.c.profile_id.in_(ids)).with_for_update())
        recount(conn, profile_ids, sign=-1)
