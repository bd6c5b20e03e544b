"""An HTTP email provider through httpx: POST the message as JSON with a bearer token.

The body `{from, to, subject, html, text, headers}` is what most transactional email APIs
take (adapt the URL to your provider's compatible endpoint). 2xx is sent; 408, 429 and 5xx
are retried (when a 429 or 503 asks in `Retry-After`, not before); any other answer is
permanent, recorded with the provider's message.
"""

from __future__ import annotations

import httpx

from engine.channels.base import Message, SendResult
from engine.webhooks.retry import ASKS_TO_WAIT


class HttpEmailTransport:
    def __init__(self, url: str, token: str, sender: str, client: httpx.Client) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.client = client

    def send(self, message: Message) -> SendResult:
        body = {
            "from": self.sender,
            "to": message.recipient,
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "headers": message.headers,
        }
        try:
            response = self.client.post(
                self.url, json=body, headers={"Authorization": f"Bearer {self.token}"}
            )
        except httpx.HTTPError as exc:
            return SendResult("retry", f"{type(exc).__name__}: {exc}")
        detail = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.is_success:
            return SendResult("sent", detail)
        if response.status_code in (408, 429) or response.status_code >= 500:
            asked = response.headers.get("retry-after")
            return SendResult(
                "retry", detail, asked if response.status_code in ASKS_TO_WAIT else None
            )
        return SendResult("failed", detail)
