"""Webhook steps: POST a JSON payload to a configured endpoint (signing comes with the
channels issue). 2xx is sent; 408, 429 and 5xx are retried; other answers are permanent."""

from __future__ import annotations

import httpx

from engine.channels.base import Message, SendResult

RETRYABLE = {408, 429}


class WebhookTransport:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def send(self, message: Message) -> SendResult:
        try:
            response = self.client.post(message.recipient, json=message.payload)
        except httpx.HTTPError as exc:
            return SendResult("retry", f"{type(exc).__name__}: {exc}")
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.is_success:
            return SendResult("sent", detail)
        if response.status_code in RETRYABLE or response.status_code >= 500:
            return SendResult("retry", detail)
        return SendResult("failed", detail)
