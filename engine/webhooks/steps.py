"""Flow `webhook` steps as signed messages, built for the channel dispatcher.

A flow step posts to a content endpoint. `step_message` turns a delivery row into a
`WebhookMessage`: the Standard Webhooks body (`type: flow.step`), a `webhook-id` stable
across retries of the delivery, and which endpoint (hence which secret) it belongs to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.catalog.definitions import Endpoint
from engine.channels.base import Message
from engine.webhooks.events import timestamp_text

STEP_EVENT = "flow.step"


@dataclass(frozen=True)
class WebhookMessage(Message):
    """A `Message` that knows its endpoint: the transport signs with the endpoint's secret
    (read from `secret_env`) and logs the attempt under the endpoint's name."""

    endpoint: str = ""
    message_id: str = ""
    secret_env: str | None = None


def step_message_id(row: Mapping[Any, Any]) -> str:
    """Derived from the delivery (id, run, step, creation time): the same on every retry,
    and different between two installations whose delivery ids coincide."""
    seed = f"{row['id']}:{row['run_id']}:{row['step']}:{row['created_at'].isoformat()}"
    return "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def step_message(
    endpoint: Endpoint, row: Mapping[Any, Any], user_id: str, traits: Mapping[str, Any]
) -> WebhookMessage:
    """The webhook of one delivery row (a flow `webhook` step) to `endpoint`."""
    data = {
        "delivery_id": row["id"],
        "flow": row["flow"],
        "step": row["step"],
        "user_id": user_id,
        "traits": dict(traits),
    }
    payload = {"type": STEP_EVENT, "timestamp": timestamp_text(row["created_at"]), "data": data}
    return WebhookMessage(
        delivery_id=row["id"],
        channel="webhook",
        recipient=endpoint.url,
        payload=payload,
        endpoint=endpoint.endpoint,
        message_id=step_message_id(row),
        secret_env=endpoint.secret_env,
    )
