"""Shared steps of the webhook database tests."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select

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
    """Ingest one event and publish what it changed, the way the pipeline does; returns how
    many webhook messages were queued."""
    message = MESSAGE_ADAPTER.validate_python(
        {"type": "track", "userId": user, "event": event, "messageId": f"{user}-{event}"}
    )
    with write_transaction(engine) as conn:
        result = process_messages(conn, catalog, [message], clock.now())
        return publish_occurrences(conn, catalog, result.audience.occurrences, clock.now())


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
