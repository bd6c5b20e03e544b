"""Every SQL statement of webhooks: API endpoints, outbox messages, attempts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.sql import ColumnElement

from engine.ingest.repository import profiles
from engine.store.bulk import BulkWriter
from engine.store.ids import parse_id
from engine.store.webhook_tables import WebhookAttemptRow, WebhookEndpointRow, WebhookMessageRow

endpoints = WebhookEndpointRow.__table__  # type: ignore[attr-defined]
messages = WebhookMessageRow.__table__  # type: ignore[attr-defined]
attempts = WebhookAttemptRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EndpointRef:
    """An endpoint as messages and attempts name it: an API id, or a content name."""

    id: int | None = None
    name: str | None = None

    @classmethod
    def parse(cls, key: str) -> EndpointRef:
        """Content names start with a letter, so a key of digits is an API endpoint's id."""
        found = parse_id(key)
        return cls(name=key) if found is None else cls(id=found)

    @property
    def key(self) -> str:
        return str(self.id) if self.id is not None else str(self.name)

    def where(self, table: Any) -> ColumnElement[bool]:
        if self.id is not None:
            return table.c.endpoint_id == self.id  # type: ignore[no-any-return]
        return table.c.endpoint_name == self.name  # type: ignore[no-any-return]


# -- endpoints -----------------------------------------------------------------------------


def insert_endpoint(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(insert(endpoints).returning(endpoints.c.id), row).scalar_one())


def api_endpoints(conn: Connection, ids: Collection[int] | None = None) -> list[RowMapping]:
    query = select(endpoints).order_by(endpoints.c.id)
    if ids is not None:
        query = query.where(endpoints.c.id.in_(list(ids)))
    return list(conn.execute(query).mappings())


def subscriptions(conn: Connection) -> list[tuple[int, list[str]]]:
    """(id, event patterns) of every API endpoint: what `publish` matches against."""
    rows = conn.execute(select(endpoints.c.id, endpoints.c.events))
    return [(int(i), list(events)) for i, events in rows]


def update_endpoint(conn: Connection, endpoint_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(endpoints).where(endpoints.c.id == endpoint_id).values(**values))


def delete_endpoint(conn: Connection, endpoint_id: int) -> bool:
    """Deletes the endpoint with its messages and attempts (cascade)."""
    result = conn.execute(delete(endpoints).where(endpoints.c.id == endpoint_id))
    return bool(result.rowcount)


def user_ids(conn: Connection, profile_ids: Collection[int]) -> dict[int, str | None]:
    query = select(profiles.c.id, profiles.c.user_id).where(profiles.c.id.in_(list(profile_ids)))
    return {int(pid): uid for pid, uid in conn.execute(query)}


# -- the outbox ----------------------------------------------------------------------------


def add_messages(writer: BulkWriter, rows: Sequence[dict[str, Any]]) -> None:
    """New pending messages, due at once, in one executemany."""
    writer.execute_many(
        "INSERT INTO webhook_messages (message_id, endpoint_id, endpoint_name, profile_id,"
        " event_type, payload, status, attempts, next_attempt_at, created_at, updated_at)"
        " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 'pending', 0, {p}, {p}, {p})",
        [
            (
                r["message_id"],
                r["endpoint_id"],
                r["endpoint_name"],
                r["profile_id"],
                r["event_type"],
                writer.json(r["payload"]),
                writer.time(r["created_at"]),
                writer.time(r["created_at"]),
                writer.time(r["created_at"]),
            )
            for r in rows
        ],
    )


def claim_messages(
    writer: BulkWriter, now: datetime, stale_before: datetime, limit: int
) -> list[int]:
    """Mark up to `limit` messages ready to send as `sending`, returning their ids.

    Ready: pending or retrying and due, or stuck in `sending` since before `stale_before`
    (the worker sending them died). On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several
    workers claim disjoint batches.
    """
    where = (
        "(status IN ('pending', 'retrying') AND next_attempt_at <= {p})"
        " OR (status = 'sending' AND updated_at < {p})"
    )
    pick = f"SELECT id FROM webhook_messages WHERE {where} ORDER BY id LIMIT {{p}}"
    if writer.sqlite:
        target = f"id IN ({pick})"
    else:
        target = f"id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"
    sql = f"UPDATE webhook_messages SET status = 'sending', updated_at = {{p}} WHERE {target}"
    params = [writer.time(now), writer.time(now), writer.time(stale_before), limit]
    return sorted(int(row[0]) for row in writer.fetch(sql + " RETURNING id", params))


def renew_lease(conn: Connection, ids: Collection[int], now: datetime) -> None:
    """Keep claimed messages this worker has not sent yet from looking abandoned."""
    if ids:
        where = messages.c.id.in_(list(ids)), messages.c.status == "sending"
        conn.execute(update(messages).where(*where).values(updated_at=now))


def note_delivered(writer: BulkWriter, message_id: int, at: datetime) -> None:
    """Write down, right after the answer, that a claimed message was delivered.

    Its outcome is written later with others; a worker that dies in between leaves it
    `sending` with `delivered_at`, which the next claim records without sending again.
    """
    writer.execute_many(
        "UPDATE webhook_messages SET delivered_at = {p} WHERE id = {p} AND status = 'sending'",
        [(writer.time(at), message_id)],
    )


def messages_by_id(conn: Connection, ids: Collection[int]) -> list[RowMapping]:
    query = select(messages).where(messages.c.id.in_(list(ids))).order_by(messages.c.id)
    return list(conn.execute(query).mappings())


def existing_messages(conn: Connection, ids: Collection[int]) -> set[int]:
    """Which of `ids` still exist, locked until commit (an endpoint deleted meanwhile took
    its messages with it; their outcomes are dropped)."""
    query = select(messages.c.id).where(messages.c.id.in_(list(ids))).with_for_update()
    return set(conn.execute(query).scalars())


_FINISH = (
    "UPDATE webhook_messages SET status = {p}, attempts = {p}, next_attempt_at = {p},"
    " last_error = {p}, updated_at = {p}, delivered_at = {p} WHERE id = {p}"
)
ATTEMPT_COLUMNS = (
    "message_id",
    "delivery_id",
    "endpoint_id",
    "endpoint_name",
    "webhook_id",
    "event_type",
    "attempted_at",
    "outcome",
    "status_code",
    "duration_ms",
    "response",
    "error",
)


def finish_messages(writer: BulkWriter, rows: Sequence[dict[str, Any]]) -> None:
    """Each message's new state, in one driver-level executemany (the send loop's cost)."""
    t = writer.time
    writer.execute_many(
        _FINISH,
        [
            (
                r["status"],
                r["attempts"],
                t(r["next_attempt_at"]),
                r["last_error"],
                t(r["updated_at"]),
                t(r["delivered_at"]),
                r["id"],
            )
            for r in rows
        ],
    )


def add_attempts(writer: BulkWriter, rows: Sequence[dict[str, Any]]) -> None:
    columns = ", ".join(ATTEMPT_COLUMNS)
    writer.execute_many(
        f"INSERT INTO webhook_attempts ({columns}) VALUES ({writer.placeholders(12)})",
        [
            tuple(writer.time(r[c]) if c == "attempted_at" else r[c] for c in ATTEMPT_COLUMNS)
            for r in rows
        ],
    )


def requeue_message(conn: Connection, message_row: int, now: datetime) -> bool:
    """One dead message back to `pending`; False if it is not dead."""
    return bool(_requeue(conn, messages.c.id == message_row, now))


def requeue_endpoint(conn: Connection, ref: EndpointRef, now: datetime) -> int:
    """Every dead message of an endpoint back to `pending`; returns how many."""
    return len(_requeue(conn, ref.where(messages), now))


def _requeue(conn: Connection, where: ColumnElement[bool], now: datetime) -> list[int]:
    """Dead messages matching `where` back to `pending` with a fresh retry budget."""
    stmt = (
        update(messages)
        .where(where, messages.c.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
        .returning(messages.c.id)
    )
    return list(conn.execute(stmt).scalars())


def purge(conn: Connection, before: datetime, limit: int) -> int:
    """Delete up to `limit` finished messages (delivered, or dead and never replayed) last
    touched before `before`, with their attempts, and flow-step attempts as old."""
    old = (
        select(messages.c.id)
        .where(messages.c.status.in_(("delivered", "dead")), messages.c.updated_at < before)
        .limit(limit)
    )
    done = conn.execute(delete(messages).where(messages.c.id.in_(old.scalar_subquery())))
    steps = (
        select(attempts.c.id)
        .where(attempts.c.message_id.is_(None), attempts.c.attempted_at < before)
        .limit(limit)
    )
    logged = conn.execute(delete(attempts).where(attempts.c.id.in_(steps.scalar_subquery())))
    return int(done.rowcount or 0) + int(logged.rowcount or 0)


def message_by_webhook_id(conn: Connection, message_id: str) -> RowMapping | None:
    query = select(messages).where(messages.c.message_id == message_id)
    return conn.execute(query).mappings().first()


def list_messages(
    conn: Connection, ref: EndpointRef | None, status: str | None, before: int | None, limit: int
) -> list[RowMapping]:
    """Messages newest first, optionally of one endpoint and one status."""
    query = select(messages).order_by(messages.c.id.desc()).limit(limit)
    if ref is not None:
        query = query.where(ref.where(messages))
    if status is not None:
        query = query.where(messages.c.status == status)
    if before is not None:
        query = query.where(messages.c.id < before)
    return list(conn.execute(query).mappings())


def list_attempts(
    conn: Connection, ref: EndpointRef, before: int | None, limit: int
) -> list[RowMapping]:
    """An endpoint's attempts, newest first."""
    query = select(attempts).where(ref.where(attempts)).order_by(attempts.c.id.desc())
    if before is not None:
        query = query.where(attempts.c.id < before)
    return list(conn.execute(query.limit(limit)).mappings())
