"""The one interface every channel implements, and what it answers.

A channel has one method, `send(message) -> SendResult`. Outcomes are data, not
exceptions: `sent`, `retry` (transient: try again later) or `failed` (permanent), each with
the provider's words, so the dispatcher can record them on the delivery row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Message:
    """One delivery, rendered: what to send to whom."""

    delivery_id: int
    channel: str
    recipient: str  # an email address, or a URL for webhooks
    subject: str = ""
    html: str = ""
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    status: Literal["sent", "retry", "failed"]
    detail: str = ""
    retry_after: str | None = None  # a 429 or 503's `Retry-After`, as received


class Channel(Protocol):
    def send(self, message: Message) -> SendResult: ...
