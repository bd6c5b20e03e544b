"""Folded outcomes: each profile's final metric values, stored once its window has closed,
and their sums per group.

A profile's value of a metric stops changing once the metric's window has closed (exposure
+ `window_end`), except for data arriving late with an old timestamp. Folding a metric
stores the non-zero values of every profile whose window closed more than `LATE_DATA_GRACE`
ago (`experiment_outcomes`) and adds them to per-(variant, persona) sums
(`experiment_rollups`); the pseudo-metric `exposures` folds exposure counts the same way.
What is folded is kept per (experiment, metric) as a time: every profile exposed at or
before `folded_until` is in the sums, except those queued to be folded again.

So results read a few rollup rows and compute only the recent tail live
(engine.experiments.sums), however many profiles were exposed.

Profiles leave the sums only by retraction, in the transaction that changes them: when a
profile is erased or merged into another, its contributions are subtracted (a merged
survivor is queued and folded again with the history it took over); when data arrives late
inside a folded window (engine.experiments.late), the values it changes are subtracted and
queued to be folded again. A fold and a retraction of the same experiment lock its fold
rows first, so they never interleave.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.experiments import repository as repo
from engine.experiments.covariates import PRE_WINDOW, Covariate, Measured
from engine.store.bulk import BulkWriter
from engine.store.db import write_transaction
from engine.store.experiment_tables import (
    ExperimentFold,
    ExperimentOutcome,
    ExperimentRefold,
    ExperimentRollup,
)

LATE_DATA_GRACE = timedelta(hours=1)
"""How long after a window closes its values are folded. Later data is still counted (it is
detected where it is written and refolded), so the grace only spares refolds for the usual
in-flight delays (SDK queues, retries) and sets the length of the live tail."""
EXPOSURES = "exposures"  # the pseudo-metric counting folded exposures
folds = ExperimentFold.__table__  # type: ignore[attr-defined]
outcomes = ExperimentOutcome.__table__  # type: ignore[attr-defined]
refolds = ExperimentRefold.__table__  # type: ignore[attr-defined]
rollups = ExperimentRollup.__table__  # type: ignore[attr-defined]
Sums = dict[tuple[str, str | None], list[tuple[float, float]]]  # group -> [(Σy, Σy²), ...]


def metric_key(metric: Measured) -> str:
    """What a metric's values depend on (not its name or direction), as a short stable key."""
    if isinstance(metric, Covariate):
        parts = ["covariate", metric.product, PRE_WINDOW.total_seconds(), metric_key(metric.metric)]
        text = json.dumps(parts)
        return hashlib.sha256(text.encode()).hexdigest()[:24]
    definition = metric.model_dump(mode="json", exclude={"name", "better"})
    text = json.dumps([metric.kind, definition], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def folded_until(conn: Connection, key: str, metric_keys: Collection[str]) -> dict[str, datetime]:
    query = select(folds.c.metric, folds.c.folded_until).where(
        folds.c.experiment == key, folds.c.metric.in_(list(metric_keys))
    )
    return {metric: until for metric, until in conn.execute(query)}


def refolding(conn: Connection, key: str) -> dict[str, list[int]]:
    """Per metric key, the profiles retracted and not folded again yet."""
    query = select(refolds.c.metric, refolds.c.profile_id).where(refolds.c.experiment == key)
    out: dict[str, list[int]] = {}
    for metric, profile_id in conn.execute(query):
        out.setdefault(metric, []).append(profile_id)
    return out


def folded_exposures(
    conn: Connection, profile_ids: Collection[int]
) -> tuple[dict[str, list[str]], list[tuple[str, int, datetime]]]:
    """Per experiment, its folded metric keys (not the exposures); and (experiment, profile
    id, exposure) of these profiles in those experiments, whether their values are folded
    yet or not (see `_retract`). At driver level, by primary key (a bound on the exposure
    would make SQLite scan the exposure index): the queries of a late batch."""
    w, ids = BulkWriter(conn), list(profile_ids)
    folded: dict[str, list[str]] = {}
    for key, mkey in w.fetch("SELECT experiment, metric FROM experiment_folds", []):
        if mkey != EXPOSURES:
            folded.setdefault(key, []).append(mkey)
    if not folded:
        return folded, []
    if w.sqlite:
        keys, pids = w.placeholders(len(folded)), w.placeholders(len(ids))
        where, params = f"experiment IN ({keys}) AND profile_id IN ({pids})", [*folded, *ids]
    else:  # one statement text whatever the batch: psycopg prepares repeated statements,
        # and IN lists of every length would evict the ingestion path's own
        where, params = "experiment = ANY({p}) AND profile_id = ANY({p})", [list(folded), ids]
    sql = f"SELECT experiment, profile_id, exposed_at FROM experiment_assignments WHERE {where}"
    rows = w.fetch(sql, params)
    return folded, [(key, pid, w.read_time(at)) for key, pid, at in rows]


def tail(low: datetime | None, queued: Sequence[int]) -> ColumnElement[bool]:
    """The assignments a fold has not summed: exposed after `low`, or queued again."""
    a = repo.assignments
    recent = a.c.exposed_at > low if low is not None else literal(True)
    return recent | a.c.profile_id.in_(queued) if queued else recent


# -- folding -----------------------------------------------------------------------------


def fold_experiment(engine: Engine, key: str, metrics: Sequence[Measured], now: datetime) -> None:
    """Fold the exposures and every metric of `key`, each in its own transaction (short
    lock waits for the merges that retract from the same sums)."""
    by_key = {metric_key(m): m for m in metrics}
    with write_transaction(engine) as conn:
        forget_other_definitions(conn, key, by_key)
    for mkey, metric in [(EXPOSURES, None), *by_key.items()]:
        with write_transaction(engine) as conn:
            fold(conn, key, mkey, metric, now)


def fold(conn: Connection, key: str, mkey: str, metric: Measured | None, now: datetime) -> None:
    """Fold one metric of `key` (None: the exposures) up to what has matured, in the
    caller's write transaction (one per metric keeps lock waits short)."""
    low = _lock(conn, key, [mkey]).get(mkey)
    until = now - (metric.window_end if metric else timedelta(0)) - LATE_DATA_GRACE
    if low is not None:
        until = max(until, low)
    queued = refolding(conn, key).get(mkey, [])
    if low is not None and until == low and not queued:
        return
    newly = tail(low, queued) & (repo.assignments.c.exposed_at <= until)
    if metric is not None:
        values = repo.profile_values(key, metric, newly)
        rows = values.add_columns(literal(key).label("experiment"), literal(mkey).label("metric"))
        statement = _insert(conn, outcomes).from_select(
            [c.name for c in rows.selected_columns], rows
        )
        conn.execute(statement.on_conflict_do_nothing())
    _add_to_rollups(conn, key, mkey, newly)
    record = _insert(conn, folds).values(experiment=key, metric=mkey, folded_until=until)
    conn.execute(
        record.on_conflict_do_update(
            index_elements=[folds.c.experiment, folds.c.metric],
            set_={"folded_until": record.excluded.folded_until},
        )
    )
    conn.execute(delete(refolds).where(refolds.c.experiment == key, refolds.c.metric == mkey))


def forget_other_definitions(conn: Connection, key: str, current: Collection[str]) -> None:
    """Drop what was folded for metric definitions the experiment no longer has (kept,
    they would miss later retractions and be wrong if the definition came back)."""
    for table in (outcomes, rollups, refolds, folds):
        conn.execute(
            delete(table).where(
                table.c.experiment == key, table.c.metric.not_in([*current, EXPOSURES])
            )
        )


def _add_to_rollups(conn: Connection, key: str, mkey: str, newly: ColumnElement[bool]) -> None:
    sums = _contributions(key, mkey, newly)
    columns = ["variant", "persona", "users", "total", "squares"]
    columns += ["first_exposed_at", "last_exposed_at", "experiment", "metric"]
    rows = sums.add_columns(literal(key), literal(mkey))
    statement = _insert(conn, rollups).from_select(columns, rows)
    new, r = statement.excluded, rollups
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[r.c.experiment, r.c.metric, r.c.variant, r.c.persona],
            set_={
                "users": r.c.users + new.users,
                "total": r.c.total + new.total,
                "squares": r.c.squares + new.squares,
                "first_exposed_at": case(
                    (new.first_exposed_at < r.c.first_exposed_at, new.first_exposed_at),
                    else_=r.c.first_exposed_at,
                ),
                "last_exposed_at": case(
                    (new.last_exposed_at > r.c.last_exposed_at, new.last_exposed_at),
                    else_=r.c.last_exposed_at,
                ),
            },
        )
    )


def _contributions(key: str, mkey: str, where: ColumnElement[bool]) -> Select[Any]:
    """What the assignments matching `where` add to the metric's sums, per group: (variant,
    persona or '', users, Σy, Σy², first and last exposure), from their stored values."""
    a, o = repo.assignments, outcomes
    value = func.coalesce(o.c.value, 0.0)
    persona = func.coalesce(a.c.persona, "")
    stored = and_(
        o.c.experiment == a.c.experiment, o.c.metric == mkey, o.c.profile_id == a.c.profile_id
    )
    return (
        select(
            a.c.variant,
            persona,
            func.count(),
            func.sum(value),
            func.sum(value * value),
            func.min(a.c.exposed_at),
            func.max(a.c.exposed_at),
        )
        .select_from(a.outerjoin(o, stored))
        .where(a.c.experiment == key, where)
        .group_by(a.c.variant, persona)
    )


def _insert(conn: Connection, table: Any) -> Any:
    return (sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert)(table)


def _lock(conn: Connection, key: str, metric_keys: Sequence[str] | None) -> dict[str, datetime]:
    """The fold rows of `key` (of `metric_keys`, or all), locked in key order."""
    query = select(folds.c.metric, folds.c.folded_until).where(folds.c.experiment == key)
    if metric_keys is not None:
        query = query.where(folds.c.metric.in_(metric_keys))
    query = query.order_by(folds.c.metric).with_for_update()
    return {metric: until for metric, until in conn.execute(query)}


_HELD = "parcours.every_fold_locked_in"  # conn.info key: the transaction holding them


def _hold_every_fold(conn: Connection) -> None:
    """Lock every fold row, in (experiment, metric) order, once per transaction.

    One transaction may retract in several experiments and metrics, one after the other
    (a batch's merges, then its late data). Taking the locks as each is needed would let
    two such transactions wait on each other in a cycle on PostgreSQL; taking them all,
    in one order, at the first retraction cannot. Fold rows are a few per experiment, and
    a fold locks only its own row, so folds neither join a cycle nor wait on each other.
    """
    transaction = conn.get_nested_transaction() or conn.get_transaction()
    held = conn.info.get(_HELD)
    if held is not None and held() is transaction:
        return
    every = select(folds.c.experiment, folds.c.metric)
    conn.execute(every.order_by(folds.c.experiment, folds.c.metric).with_for_update())
    conn.info[_HELD] = weakref.ref(transaction) if transaction is not None else None


# -- retraction --------------------------------------------------------------------------


def merge_assignments(conn: Connection, gone: int, survivor: int) -> None:
    """`repository.move_assignments`, keeping the folded sums right: both profiles'
    contributions are retracted, and the survivor is queued to be folded again with the
    history it took over."""
    retract(conn, [gone, survivor])
    repo.move_assignments(conn, gone, survivor)
    _queue(conn, [survivor])


def retract(conn: Connection, profile_ids: Sequence[int]) -> None:
    """Take these profiles out of every folded sum (before they are erased or merged).
    Most merges and erasures find nothing: a profile never exposed has nothing folded."""
    a = repo.assignments
    experiments = select(a.c.experiment).where(a.c.profile_id.in_(profile_ids)).distinct()
    for key in sorted(conn.execute(experiments).scalars()):
        _retract(conn, key, None, profile_ids)


def refold(conn: Connection, changed: Mapping[tuple[str, str], Collection[int]]) -> None:
    """Folded values that late data changed, per (experiment, metric key): take them out
    of the sums; the next fold adds their new values."""
    for key, mkey in sorted(changed):
        _retract(conn, key, [mkey], sorted(changed[key, mkey]))


def _retract(
    conn: Connection, key: str, metric_keys: Sequence[str] | None, profile_ids: Sequence[int]
) -> None:
    """Subtract the profiles' folded values of `key`'s metrics (all if None), drop them and
    queue the profiles to be folded again, which also makes a second retraction subtract
    nothing. Profiles not folded yet are queued too: they are computed live either way."""
    a = repo.assignments
    _hold_every_fold(conn)
    done = _lock(conn, key, metric_keys)
    queued = refolding(conn, key)
    for mkey, until in done.items():
        counted = (
            a.c.profile_id.in_(profile_ids)
            & (a.c.exposed_at <= until)
            & a.c.profile_id.not_in(queued.get(mkey, []))
        )
        _subtract(conn, key, mkey, counted)
    o = outcomes
    conn.execute(
        delete(o).where(
            o.c.experiment == key, o.c.metric.in_(list(done)), o.c.profile_id.in_(profile_ids)
        )
    )
    _queue(conn, profile_ids, key, list(done))


def _queue(
    conn: Connection,
    profile_ids: Sequence[int],
    key: str | None = None,
    metric_keys: Sequence[str] | None = None,
) -> None:
    """Queue the profiles' assignments to be folded again, for every folded metric (of
    `key`, and of `metric_keys`, when given)."""
    a = repo.assignments
    queued = (
        select(folds.c.experiment, folds.c.metric, a.c.profile_id)
        .select_from(folds.join(a, a.c.experiment == folds.c.experiment))
        .where(a.c.profile_id.in_(profile_ids))
    )
    if key is not None:
        queued = queued.where(folds.c.experiment == key)
    if metric_keys is not None:
        queued = queued.where(folds.c.metric.in_(metric_keys))
    columns = ["experiment", "metric", "profile_id"]
    conn.execute(_insert(conn, refolds).from_select(columns, queued).on_conflict_do_nothing())


def _subtract(conn: Connection, key: str, mkey: str, counted: ColumnElement[bool]) -> None:
    r = rollups
    found = conn.execute(_contributions(key, mkey, counted)).all()
    if not found:
        return
    conn.execute(
        update(r)
        .where(
            r.c.experiment == key,
            r.c.metric == mkey,
            r.c.variant == bindparam("v"),
            r.c.persona == bindparam("p"),
        )
        .values(
            users=r.c.users - bindparam("n"),
            total=r.c.total - bindparam("s"),
            squares=r.c.squares - bindparam("q"),
        ),
        [{"v": v, "p": p, "n": n, "s": s, "q": q} for v, p, n, s, q, _, _ in found],
    )


# -- reading -----------------------------------------------------------------------------


def rollup_rows(conn: Connection, key: str, metric_keys: Collection[str]) -> list[Any]:
    query = select(rollups).where(
        rollups.c.experiment == key, rollups.c.metric.in_([*metric_keys, EXPOSURES])
    )
    return list(conn.execute(query).mappings())


def folded_sums(
    conn: Connection, key: str, metric_keys: Sequence[str], cutoffs: Sequence[datetime]
) -> Sums:
    """Per group, Σy and Σy² of the stored values of each (metric key, cutoff) pair."""
    o = outcomes
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
