"""Shared steps of the webhook database tests."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import write_transaction
from engine.webhooks.repository import attempts, messages
from engine.webhooks.sender import WebhookSender
from engine.webhooks.service import publish_occurrences
from engine.webhooks.tasks import send_due_webhooks


def track(engine: Engine, catalog: Catalog, clock: FrozenClock, user: str, event: str) -> int:
    """Ingest one event through the pipeline; returns how many webhook messages it queued.

    Until engine/pipeline.py calls `publish_occurrences` itself, this does it in its place,
    in the same transaction, exactly as the pipeline will.
    """
    message = MESSAGE_ADAPTER.validate_python(
        {"type": "track", "userId": user, "event": event, "messageId": f"{user}-{event}"}
    )
    with write_transaction(engine) as conn:
        before = _count(conn)
        result = process_messages(conn, catalog, [message], clock.now())
        if _count(conn) == before:
            publish_occurrences(conn, catalog, result.audience.occurrences, clock.now())
        return _count(conn) - before


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(messages)).scalar_one())


def send(
    engine: Engine,
    catalog: Catalog,
    sender: WebhookSender,
    clock: FrozenClock,
    environ: Mapping[str, str],
    **options: Any,
) -> int:
    return send_due_webhooks(
        engine, catalog, sender, clock, rng=random.Random(7), environ=environ, **options
    )


def outbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(messages).order_by(messages.c.id)).mappings()]


def attempt_log(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = select(attempts).order_by(attempts.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]
