"""Every SQL statement of the flow runtime."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, case, func, insert, select, update

from engine.audience.repository import memberships
from engine.store.bulk import BulkWriter, marks
from engine.store.runtime_tables import (
    Delivery,
    FlowRun,
    FlowVersion,
    InAppItem,
    JourneyEntry,
    ScheduleFire,
    Timer,
)
from engine.store.stages import STAGE_AT_CREATION

versions = FlowVersion.__table__  # type: ignore[attr-defined]
runs = FlowRun.__table__  # type: ignore[attr-defined]
timers = Timer.__table__  # type: ignore[attr-defined]
deliveries = Delivery.__table__  # type: ignore[attr-defined]
journey = JourneyEntry.__table__  # type: ignore[attr-defined]
inapp_items = InAppItem.__table__  # type: ignore[attr-defined]
schedule_fires = ScheduleFire.__table__  # type: ignore[attr-defined]

OPEN = ("active", "waiting")


def version_id(conn: Connection, flow: str, version: str, definition: Any, now: datetime) -> int:
    """The id of a flow version, stored on first use."""
    query = select(versions.c.id).where(versions.c.flow == flow, versions.c.version == version)
    found = conn.execute(query).scalar()
    if found is not None:
        return int(found)
    row = {"flow": flow, "version": version, "definition": definition, "created_at": now}
    return int(conn.execute(insert(versions).returning(versions.c.id), row).scalar_one())


def version_definitions(conn: Connection, ids: Collection[int]) -> dict[int, tuple[str, Any]]:
    query = select(versions.c.id, versions.c.version, versions.c.definition)
    rows = conn.execute(query.where(versions.c.id.in_(list(ids))))
    return {vid: (version, definition) for vid, version, definition in rows}


RUN_COLUMNS = tuple(runs.c.keys())
RUN_TIMES = ("entered_at", "updated_at", "ended_at", "converted_at", "goal_until")


def open_runs(conn: Connection, profile_ids: Collection[int]) -> list[dict[str, Any]]:
    ids = list(profile_ids)
    where = f"profile_id IN ({marks(len(ids))}) AND status IN ({marks(len(OPEN))})"
    return _read_runs(conn, where, [*ids, *OPEN]) if ids else []


def goal_window_runs(
    conn: Connection, profile_ids: Collection[int], now: datetime
) -> list[dict[str, Any]]:
    """The profiles' ended runs whose goal can still convert them (`goal_until` ahead)."""
    ids = list(profile_ids)
    where = f"profile_id IN ({marks(len(ids))}) AND goal_until >= {{p}}"
    return _read_runs(conn, where, [*ids, BulkWriter(conn).time(now)]) if ids else []


def runs_by_id(conn: Connection, run_ids: Collection[int]) -> list[dict[str, Any]]:
    ids = list(run_ids)
    return _read_runs(conn, f"id IN ({marks(len(ids))})", ids) if ids else []


def _read_runs(conn: Connection, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """Runs as plain dicts, decoded at driver level: SQLAlchemy's per-value result
    processing was a tenth of a timer tick."""
    writer = BulkWriter(conn)
    sql = f"SELECT {', '.join(RUN_COLUMNS)} FROM flow_runs WHERE {where} ORDER BY id"
    found = []
    for row in writer.fetch(sql, params):
        run = dict(zip(RUN_COLUMNS, row, strict=True))
        run["state"] = writer.read_json(run["state"])
        for name in RUN_TIMES:
            if run[name] is not None:
                run[name] = writer.read_time(run[name])
        found.append(run)
    return found


def last_entries(
    conn: Connection, profile_ids: Collection[int], flows: Collection[str]
) -> dict[tuple[int, str], datetime]:
    """When each profile last entered each flow (skipped attempts do not count)."""
    query = (
        select(runs.c.profile_id, runs.c.flow, func.max(runs.c.entered_at))
        .where(
            runs.c.profile_id.in_(list(profile_ids)),
            runs.c.flow.in_(list(flows)),
            runs.c.status != "skipped",
        )
        .group_by(runs.c.profile_id, runs.c.flow)
    )
    return {(pid, flow): at for pid, flow, at in conn.execute(query)}


def skipped_before(conn: Connection, profile_id: int, flow: str, reason: str) -> bool:
    query = select(runs.c.id).where(
        runs.c.profile_id == profile_id,
        runs.c.flow == flow,
        runs.c.status == "skipped",
        runs.c.end_reason == reason,
    )
    return conn.execute(query.limit(1)).first() is not None


def insert_run(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(insert(runs).returning(runs.c.id), row).scalar_one())


def update_runs(writer: BulkWriter, changes: dict[int, dict[str, Any]]) -> None:
    """One executemany per distinct set of changed columns (usually one or two)."""
    by_shape: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for run_id, values in changes.items():
        shape = tuple(sorted(values))
        row = tuple(writer.value(values[name]) for name in shape)
        by_shape.setdefault(shape, []).append((*row, run_id))
    for shape, rows in by_shape.items():
        columns = ", ".join(f"{name} = {{p}}" for name in shape)
        writer.execute_many(f"UPDATE flow_runs SET {columns} WHERE id = {{p}}", rows)


def drop_timers_of(writer: BulkWriter, run_ids: Collection[int]) -> None:
    ids = list(run_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        writer.fetch(
            f"DELETE FROM timers WHERE run_id IN ({writer.placeholders(len(chunk))}) RETURNING id",
            chunk,
        )


def add_timers(writer: BulkWriter, rows: list[tuple[int, str, datetime]]) -> None:
    writer.execute_many(
        "INSERT INTO timers (run_id, step, due_at) VALUES ({p}, {p}, {p})",
        [(run, step, writer.time(due)) for run, step, due in rows],
    )


def add_deliveries(
    writer: BulkWriter, rows: list[tuple[dict[str, Any], dict[str, Any] | None]]
) -> None:
    """Deliveries, then the in-app items of those that have one, found by their delivery's
    (run, step) key. Driver-level executemany: per-value type processing and RETURNING
    per row were a quarter of a timer tick."""
    writer.insert("deliveries", [row for row, _ in rows], {"stage": STAGE_AT_CREATION})
    with_item = {(row["run_id"], row["step"]): item for row, item in rows if item is not None}
    if not with_item:
        return
    run_ids = sorted({run_id for run_id, _ in with_item})
    ids: dict[tuple[int, str], int] = {}
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        in_chunk = writer.placeholders(len(chunk))
        sql = f"SELECT run_id, step, id FROM deliveries WHERE run_id IN ({in_chunk})"
        found = writer.fetch(sql, chunk)
        ids.update({(run_id, step): delivery_id for run_id, step, delivery_id in found})
    items = [item | {"delivery_id": ids[key]} for key, item in with_item.items()]
    writer.insert("inapp_items", items)


def claim_due_timers(writer: BulkWriter, now: datetime, limit: int) -> list[tuple[int, int, str]]:
    """Take up to `limit` due timers out of the table: (timer id, run id, step).

    The rows are deleted in the caller's transaction, so a crash puts them back. On
    PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers claim disjoint batches, and
    `id = ANY(ARRAY(...))` keeps the delete on the primary key.
    """
    if writer.sqlite:
        sql = (
            "DELETE FROM timers WHERE id IN (SELECT id FROM timers WHERE due_at <= {p}"
            " ORDER BY due_at LIMIT {p}) RETURNING id, run_id, step"
        )
    else:
        sql = (
            "DELETE FROM timers WHERE id = ANY(ARRAY(SELECT id FROM timers WHERE due_at <= {p}"
            " ORDER BY due_at LIMIT {p} FOR UPDATE SKIP LOCKED)) RETURNING id, run_id, step"
        )
    return [(int(t), int(r), str(s)) for t, r, s in writer.fetch(sql, [writer.time(now), limit])]


def add_journey(writer: BulkWriter, rows: list[dict[str, Any]]) -> None:
    writer.execute_many(
        "INSERT INTO journey_entries (run_id, at, step, kind, outcome, detail)"
        " VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        [
            (
                r["run_id"],
                writer.time(r["at"]),
                r["step"],
                r["kind"],
                r["outcome"],
                writer.json(r["detail"]),
            )
            for r in rows
        ],
    )


def claim_deliveries(
    writer: BulkWriter, now: datetime, stale_before: datetime, limit: int
) -> list[int]:
    """Mark up to `limit` deliveries ready to send as `sending`, returning their ids.

    Ready: pending, retrying and due, or stuck in `sending` since before `stale_before` (the
    process that was sending them died).
    """
    where = (
        "((status = 'pending' OR status = 'retrying') AND next_attempt_at <= {p})"
        " OR (status = 'sending' AND updated_at < {p})"
    )
    pick = f"SELECT id FROM deliveries WHERE {where} ORDER BY id LIMIT {{p}}"
    if writer.sqlite:
        sql = f"UPDATE deliveries SET status = 'sending', updated_at = {{p}} WHERE id IN ({pick})"
    else:
        sql = (
            "UPDATE deliveries SET status = 'sending', updated_at = {p}"
            f" WHERE id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"
        )
    params = [writer.time(now), writer.time(now), writer.time(stale_before), limit]
    return [int(row[0]) for row in writer.fetch(sql + " RETURNING id", params)]


def next_due(conn: Connection, after: datetime) -> datetime | None:
    """The earliest time after `after` at which a timer or a held or retried delivery is
    due, for a virtual clock to stop at (engine.testing)."""
    waiting = (deliveries.c.status.in_(["pending", "retrying"])) & (
        deliveries.c.next_attempt_at > after
    )
    times = [
        conn.execute(select(func.min(timers.c.due_at)).where(timers.c.due_at > after)).scalar(),
        conn.execute(select(func.min(deliveries.c.next_attempt_at)).where(waiting)).scalar(),
    ]
    return min((t for t in times if t is not None), default=None)


def recent_sends(
    conn: Connection, profile_ids: Iterable[int], channels: list[str], now: datetime
) -> dict[tuple[int, str], tuple[int, int]]:
    """Messages sent to each profile per channel: (in the last day, in the last week)."""
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    in_day = func.sum(case((deliveries.c.sent_at > day_ago, 1), else_=0))
    query = (
        select(deliveries.c.profile_id, deliveries.c.channel, in_day, func.count())
        .where(
            deliveries.c.profile_id.in_(list(profile_ids)),
            deliveries.c.channel.in_(channels),
            deliveries.c.status == "sent",
            deliveries.c.sent_at > week_ago,
        )
        .group_by(deliveries.c.profile_id, deliveries.c.channel)
    )
    rows = conn.execute(query)
    return {(pid, channel): (int(day), int(week)) for pid, channel, day, week in rows}


def deliveries_by_id(conn: Connection, ids: Iterable[int]) -> list[RowMapping]:
    query = select(deliveries).where(deliveries.c.id.in_(list(ids))).order_by(deliveries.c.id)
    return list(conn.execute(query).mappings())


def still_claimed(conn: Connection, ids: list[int], claimed_at: datetime) -> set[int]:
    """Which of these deliveries are still `sending` under the claim made at `claimed_at`
    (locked on PostgreSQL until the outcome is written)."""
    query = select(deliveries.c.id).where(
        deliveries.c.id.in_(ids),
        deliveries.c.status == "sending",
        deliveries.c.updated_at == claimed_at,
    )
    return set(conn.execute(query.with_for_update()).scalars())


def note_sent(writer: BulkWriter, delivery_id: int, claimed_at: datetime, at: datetime) -> None:
    """Write down, right after the send, that a delivery claimed at `claimed_at` was sent.

    Its outcome is recorded later with its batch; a dispatcher that dies in between leaves
    the row `sending` with `sent_at`, which the next claim records without sending again.
    At the driver, as it runs once per message sent.
    """
    writer.execute_many(
        "UPDATE deliveries SET sent_at = {p}"
        " WHERE id = {p} AND status = 'sending' AND updated_at = {p}",
        [(writer.time(at), delivery_id, writer.time(claimed_at))],
    )


def finish_deliveries(conn: Connection, outcomes: list[tuple[int, dict[str, Any]]]) -> None:
    """Record each delivery's outcome; one executemany per set of columns changed."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for delivery_id, values in outcomes:
        by_shape.setdefault(tuple(sorted(values)), []).append({"did": delivery_id, **values})
    for shape, rows in by_shape.items():
        stmt = update(deliveries).where(deliveries.c.id == bindparam("did"))
        conn.execute(stmt.values({name: bindparam(name) for name in shape}), rows)


def fired_at(conn: Connection, flow: str) -> datetime | None:
    query = select(schedule_fires.c.fired_at).where(schedule_fires.c.flow == flow)
    value: datetime | None = conn.execute(query).scalar()
    return value


def record_fire(conn: Connection, flow: str, at: datetime, first: bool) -> None:
    if first:
        conn.execute(insert(schedule_fires), {"flow": flow, "fired_at": at})
    else:
        conn.execute(
            update(schedule_fires).where(schedule_fires.c.flow == flow).values(fired_at=at)
        )


def journey_of(
    conn: Connection, profile_id: int
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """A profile's runs, their journey entries, deliveries and pending timers."""
    run_rows = list(
        conn.execute(
            select(runs).where(runs.c.profile_id == profile_id).order_by(runs.c.id)
        ).mappings()
    )
    ids = [r["id"] for r in run_rows]
    entries = conn.execute(
        select(journey).where(journey.c.run_id.in_(ids)).order_by(journey.c.id)
    ).mappings()
    sent = conn.execute(
        select(deliveries).where(deliveries.c.run_id.in_(ids)).order_by(deliveries.c.id)
    ).mappings()
    waiting = conn.execute(
        select(timers).where(timers.c.run_id.in_(ids)).order_by(timers.c.due_at)
    ).mappings()
    return run_rows, list(entries), list(sent), list(waiting)


def audience_members(conn: Connection, segments: list[str], after_id: int, limit: int) -> list[int]:
    """Profiles currently in any of `segments`, by id, a page at a time."""
    query = (
        select(memberships.c.profile_id)
        .where(
            memberships.c.segment.in_(segments),
            memberships.c.exited_at.is_(None),
            memberships.c.profile_id > after_id,
        )
        .group_by(memberships.c.profile_id)
        .order_by(memberships.c.profile_id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
