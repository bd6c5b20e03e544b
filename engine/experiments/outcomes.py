"""Folded outcomes: each profile's final metric values, stored once its window has closed.

A profile's value of a metric stops changing once the metric's window has closed (exposure
+ `window_end`), except for data arriving late with an old timestamp. Folding stores the
values of every profile whose window closed more than `LATE_DATA_GRACE` ago, so results
read one narrow table for most profiles and compute only the recent tail live
(engine.experiments.sums). What is folded is kept per (experiment, metric) as a time:
every profile exposed at or before `folded_until` has its value stored (0 as no row).

Known limit: an event or stage entry written more than `LATE_DATA_GRACE` after the window
of its profile closed is not counted (docs/experiments.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.catalog.metrics import Metric
from engine.experiments import repository as repo
from engine.store.experiment_tables import ExperimentFold

LATE_DATA_GRACE = timedelta(days=1)
folds = ExperimentFold.__table__  # type: ignore[attr-defined]
Sums = dict[tuple[str, str | None], list[tuple[float, float]]]


def metric_key(metric: Metric) -> str:
    """What a metric's values depend on (not its name or direction), as a short stable key."""
    definition = metric.model_dump(mode="json", exclude={"name", "better"})
    text = json.dumps([metric.kind, definition], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def folded_until(conn: Connection, key: str, metric_keys: Collection[str]) -> dict[str, datetime]:
    query = select(folds.c.metric, folds.c.folded_until).where(
        folds.c.experiment == key, folds.c.metric.in_(list(metric_keys))
    )
    return {metric: until for metric, until in conn.execute(query)}


def refolding(conn: Connection, key: str) -> list[int]:
    """Profiles whose folded outcomes were dropped and are not folded again yet."""
    query = select(repo.refolds.c.profile_id).where(repo.refolds.c.experiment == key)
    return list(conn.execute(query).scalars())


def tail(low: datetime | None, queued: Sequence[int]) -> ColumnElement[bool]:
    """The assignments a fold has not stored: exposed after `low`, or queued again."""
    a = repo.assignments
    recent = a.c.exposed_at > low if low is not None else literal(True)
    return recent | a.c.profile_id.in_(queued) if queued else recent


def folded_sums(
    conn: Connection, key: str, metric_keys: Sequence[str], cutoffs: Sequence[datetime]
) -> Sums:
    """Per group, Σy and Σy² of the folded values of each (metric key, cutoff) pair."""
    o = repo.outcomes
    values = select(o.c.variant, o.c.persona, o.c.exposed_at, o.c.value, o.c.metric).where(
        o.c.experiment == key, o.c.metric.in_(set(metric_keys))
    )
    return sums_by_group(conn, repo.value_sums(values, cutoffs, metric_keys))


def sums_by_group(conn: Connection, query: Select[Any]) -> Sums:
    """Rows of (variant, persona, Σy₀, Σy₀², Σy₁, ...) as group -> [(Σy, Σy²), ...]."""
    out: Sums = {}
    for row in conn.execute(query):
        pairs = [float(v or 0) for v in row[2:]]
        out[(row[0], row[1])] = list(zip(pairs[::2], pairs[1::2], strict=True))
    return out


def fold(conn: Connection, key: str, metrics: Sequence[Metric], now: datetime) -> None:
    """Store the values of every profile of `key` whose windows have matured (and of the
    queued ones), in the caller's write transaction."""
    by_key = {metric_key(m): m for m in metrics}
    _forget_other_definitions(conn, key, by_key)
    done = folded_until(conn, key, by_key)
    queued = refolding(conn, key)
    for mkey, metric in by_key.items():
        low = done.get(mkey)
        until = now - metric.window_end - LATE_DATA_GRACE
        if low is not None:
            until = max(until, low)
        if low is not None and until == low and not queued:
            continue
        a = repo.assignments
        values = repo.profile_values(key, metric, tail(low, queued) & (a.c.exposed_at <= until))
        _insert(conn, key, mkey, values)
        _record(conn, key, mkey, until)
    conn.execute(delete(repo.refolds).where(repo.refolds.c.experiment == key))


def _insert(conn: Connection, key: str, mkey: str, values: Select[Any]) -> None:
    rows = values.add_columns(literal(key).label("experiment"), literal(mkey).label("metric"))
    columns = [c.name for c in rows.selected_columns]
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = dialect_insert(repo.outcomes).from_select(columns, rows)
    conn.execute(statement.on_conflict_do_nothing())


def _record(conn: Connection, key: str, mkey: str, until: datetime) -> None:
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = dialect_insert(folds).values(experiment=key, metric=mkey, folded_until=until)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[folds.c.experiment, folds.c.metric],
            set_={"folded_until": statement.excluded.folded_until},
        )
    )


def _forget_other_definitions(conn: Connection, key: str, current: Collection[str]) -> None:
    """Drop what was folded for metric definitions the experiment no longer has: emptying
    the refold queue without refolding them would leave them wrong if they came back."""
    o = repo.outcomes
    conn.execute(delete(o).where(o.c.experiment == key, o.c.metric.not_in(list(current))))
    conn.execute(
        delete(folds).where(folds.c.experiment == key, folds.c.metric.not_in(list(current)))
    )
