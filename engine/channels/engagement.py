"""What recipients do with an email: unsubscribe, open, click — recorded as events.

Each is recorded through the same pipeline as the SaaS app's events (`unsubscribed`,
`email_opened`, `email_clicked`, with the flow, step and run), so stages, segments, flow
triggers, `wait_until: {engaged: step}` and experiment guardrails can use them. messageIds
derive from the delivery, so a scanner opening a link twice records it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from engine.catalog.catalog import Catalog
from engine.catalog.internal_events import EMAIL_CLICKED, EMAIL_OPENED, UNSUBSCRIBED
from engine.channels import links
from engine.channels.suppressions import suppress
from engine.flows.repository import deliveries
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.ingest.repository import profiles
from engine.ingest.schemas import Track
from engine.pipeline import process_messages


class InvalidLink(Exception):
    """A tampered, truncated or unknown link."""


def unsubscribe(
    conn: Connection,
    catalog: Catalog,
    secret: str,
    token: str,
    now: datetime,
    guardrails: Guardrails = NO_GUARDRAILS,
) -> None:
    payload = links.verify(secret, token, links.UNSUBSCRIBE)
    if payload is None or not isinstance(payload.get("e"), str):
        raise InvalidLink("this unsubscribe link is not valid")
    suppress(conn, payload["e"], "unsubscribe", now)
    message_id = f"unsubscribe:{payload['d']}"
    _record(conn, catalog, payload["d"], UNSUBSCRIBED, message_id, now, guardrails)


def opened(
    conn: Connection,
    catalog: Catalog,
    secret: str,
    token: str,
    now: datetime,
    guardrails: Guardrails = NO_GUARDRAILS,
) -> None:
    payload = links.verify(secret, token.removesuffix(".gif"), links.OPEN)
    if payload is None:
        raise InvalidLink("this tracking link is not valid")
    _record(conn, catalog, payload["d"], EMAIL_OPENED, f"open:{payload['d']}", now, guardrails)


def clicked(
    conn: Connection,
    catalog: Catalog,
    secret: str,
    token: str,
    now: datetime,
    guardrails: Guardrails = NO_GUARDRAILS,
) -> str:
    """Records the click and returns where to send the reader."""
    payload = links.verify(secret, token, links.CLICK)
    if payload is None or not str(payload.get("u", "")).startswith(("https://", "http://")):
        raise InvalidLink("this link is not valid")
    url = str(payload["u"])
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    message_id = f"click:{payload['d']}:{digest}"
    _record(conn, catalog, payload["d"], EMAIL_CLICKED, message_id, now, guardrails, url=url)
    return url


def _record(
    conn: Connection,
    catalog: Catalog,
    delivery_id: Any,
    name: str,
    message_id: str,
    now: datetime,
    guardrails: Guardrails,
    **extra: Any,
) -> None:
    row = (
        conn.execute(
            select(deliveries, profiles.c.user_id)
            .join(profiles, profiles.c.id == deliveries.c.profile_id)
            .where(deliveries.c.id == delivery_id)
        )
        .mappings()
        .first()
    )
    if row is None or row["user_id"] is None:
        return  # the profile was erased (the suppression above still holds)
    properties = {
        "delivery_id": row["id"],
        "template": row["content"],
        "flow": row["flow"],
        "step": row["step"],
        "run_id": row["run_id"],
        **extra,
    }
    event = Track(
        type="track",
        event=name,
        messageId=message_id,
        userId=row["user_id"],
        timestamp=now,
        properties=properties,
    )
    process_messages(conn, catalog, [event], now, guardrails)
