"""Flow `webhook` steps: POST a JSON payload to a content endpoint, signed and guarded.

Every request goes through the webhook sender (engine.webhooks.sender): the SSRF guard
refuses internal addresses before connecting, redirects are not followed, and a message
that names its endpoint (`engine.webhooks.steps.WebhookMessage`) is signed with the
endpoint's secret (Standard Webhooks) and logged in the endpoint's delivery log.
2xx is sent; 408, 429, 5xx and network errors are retried; other answers are permanent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from engine.channels.base import Message, SendResult
from engine.webhooks.sender import WebhookSender
from engine.webhooks.steps import WebhookMessage
from engine.webhooks.targets import SecretUnavailable, content_keys
from engine.webhooks.tasks import StepAttemptLog


class WebhookTransport:
    """The `webhook` channel. Without `sender`, a sender refusing private addresses is built
    (a `client` passed in, as older callers do, is kept and checked before each request)."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        sender: WebhookSender | None = None,
        attempts: StepAttemptLog | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.sender = sender or WebhookSender(client=client)
        self.attempts = attempts
        self.environ = os.environ if environ is None else environ

    def send(self, message: Message) -> SendResult:
        keys: tuple[bytes, ...] = ()
        message_id = f"msg_delivery_{message.delivery_id}"
        if isinstance(message, WebhookMessage):
            message_id = message.message_id
            try:
                keys = content_keys(message.secret_env, self.environ)
            except SecretUnavailable as exc:
                return SendResult("retry", str(exc))
        attempt = self.sender.deliver(message.recipient, message_id, message.payload, keys)
        if self.attempts is not None and isinstance(message, WebhookMessage):
            self.attempts.record(message.endpoint, message.delivery_id, message_id, attempt)
        return SendResult(attempt.outcome, attempt.detail, attempt.retry_after)
