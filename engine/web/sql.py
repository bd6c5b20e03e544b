"""SQL building blocks shared by the dashboard's queries, identical on SQLite and PostgreSQL.

Time arithmetic differs per backend (SQLite keeps timestamps as text, PostgreSQL as
timestamptz), so durations and calendar weeks are small compiled expressions: `epoch(x)` is
seconds since 1970 as a float, and `whole(seconds, unit)` truncates towards zero on both
backends (PostgreSQL's CAST rounds, SQLite's truncates; TRUNC makes them agree).

A `Population` is who a page is about: the profiles of one flow (runs entered in the period)
or everyone who reached the anchor stage in the period, optionally of one persona. It is a
subquery of profile ids, so every aggregate filters with `profile_id IN (...)` and stays one
statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Select, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.audience.repository import memberships
from engine.experiments.repository import assignments
from engine.flows.repository import deliveries, journey, runs, timers
from engine.ingest.repository import profiles
from engine.store.tables import Event, StageEntry

events = Event.__table__  # type: ignore[attr-defined]
stage_entries = StageEntry.__table__  # type: ignore[attr-defined]

__all__ = [
    "NO_PERSONA",
    "Population",
    "assignments",
    "deliveries",
    "epoch",
    "events",
    "journey",
    "memberships",
    "profiles",
    "runs",
    "stage_entries",
    "timers",
    "whole",
]

NO_PERSONA = "(none)"
"""The persona filter value for profiles without a primary persona (as in experiments)."""

WEEK = 7 * 86400
MONDAY = 4 * 86400  # 1970-01-01 was a Thursday: weeks counted from Monday 1970-01-05


class _Epoch(FunctionElement[float]):
    type = Float()
    inherit_cache = True


@compiles(_Epoch, "sqlite")
def _epoch_sqlite(element: _Epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(_Epoch, "postgresql")
def _epoch_postgresql(element: _Epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT)"


class _Whole(FunctionElement[int]):
    type = Integer()
    inherit_cache = True


@compiles(_Whole, "sqlite")
def _whole_sqlite(element: _Whole, compiler: SQLCompiler, **kw: Any) -> str:
    # julianday() arithmetic is off by microseconds: 73 h can come out as 72.99999 h.
    # Rounding the seconds to the millisecond first makes whole hours exact again.
    seconds, unit = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(ROUND({seconds}, 3) / {unit} AS INTEGER)"


@compiles(_Whole, "postgresql")
def _whole_postgresql(element: _Whole, compiler: SQLCompiler, **kw: Any) -> str:
    seconds, unit = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(TRUNC(({seconds}) / {unit}) AS INTEGER)"


def epoch(at: Any) -> ColumnElement[float]:
    """Seconds since 1970-01-01 UTC of a timestamp column."""
    return _Epoch(at)


def whole(seconds: Any, unit: int) -> ColumnElement[int]:
    """`seconds / unit`, truncated towards zero, the same on both backends."""
    return _Whole(seconds, literal(float(unit)))


def week_of(at: Any) -> ColumnElement[int]:
    """The Monday-based week number of a timestamp (week 0 began on 1970-01-05)."""
    return whole(epoch(at) - MONDAY, WEEK)


def week_start(week: int) -> datetime:
    """The Monday 00:00 UTC that week number `week` of `week_of` began."""
    return datetime.fromtimestamp(MONDAY + week * WEEK, tz=UTC)


def persona_is(persona: str) -> ColumnElement[bool]:
    """Profiles whose primary persona is `persona` (NO_PERSONA: those without one)."""
    column: ColumnElement[str | None] = profiles.c.persona
    return column.is_(None) if persona == NO_PERSONA else column == persona


@dataclass(frozen=True)
class Population:
    """Who a page counts: see the module docstring. `anchor` is the first ordered stage."""

    anchor: str
    flow: str | None = None
    persona: str | None = None
    since: datetime | None = None

    def profile_ids(self) -> Select[Any]:
        """The population as a subquery of profile ids (duplicates are harmless in IN)."""
        if self.flow is not None:
            query = select(runs.c.profile_id).where(
                runs.c.flow == self.flow, runs.c.status != "skipped"
            )
            if self.since is not None:
                query = query.where(runs.c.entered_at >= self.since)
        else:
            query = select(stage_entries.c.profile_id).where(stage_entries.c.stage == self.anchor)
            if self.since is not None:
                query = query.where(stage_entries.c.entered_at >= self.since)
        if self.persona:
            personas = select(profiles.c.id).where(persona_is(self.persona))
            column = runs.c.profile_id if self.flow is not None else stage_entries.c.profile_id
            query = query.where(column.in_(personas))
        return query
