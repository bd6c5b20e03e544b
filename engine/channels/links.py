"""Signed links in emails: one-click unsubscribe, the open pixel and click redirects.

A token is `base64url(payload).base64url(hmac)`, HMAC-SHA256 with PARCOURS_LINK_SECRET over
the payload; it names the delivery (and, for clicks, the destination), so a link cannot be
forged to unsubscribe someone else or to redirect anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

UNSUBSCRIBE, OPEN, CLICK = "u", "o", "c"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, kind: str, delivery_id: int, **extra: Any) -> str:
    payload = orjson.dumps({"k": kind, "d": delivery_id, **extra})
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: str, token: str, kind: str) -> dict[str, Any] | None:
    """The payload of a valid token of `kind`, else None (tampered, truncated, wrong kind)."""
    try:
        body, mac = token.split(".", 1)
        payload = _unb64(body)
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = orjson.loads(payload)
    except (ValueError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("k") == kind else None


class Links:
    """URL builders for one delivery."""

    def __init__(self, base_url: str, secret: str, delivery_id: int, recipient: str) -> None:
        self.base = base_url.rstrip("/")
        self.secret = secret
        self.delivery_id = delivery_id
        self.recipient_hash = email_hash(recipient)

    def unsubscribe(self) -> str:
        token = sign(self.secret, UNSUBSCRIBE, self.delivery_id, e=self.recipient_hash)
        return f"{self.base}/v1/unsubscribe/{token}"

    def open_pixel(self) -> str:
        return f"{self.base}/v1/t/o/{sign(self.secret, OPEN, self.delivery_id)}.gif"

    def click(self, url: str) -> str:
        return f"{self.base}/v1/t/c/{sign(self.secret, CLICK, self.delivery_id, u=url)}"


def email_hash(address: str) -> str:
    """How a suppressed address is kept: it outlives the profile, the address does not."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()
