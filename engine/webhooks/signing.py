"""Standard Webhooks signatures (https://www.standardwebhooks.com). Pure: no I/O, no clock.

A secret is `whsec_` followed by the base64 of 24 to 64 random bytes. Every request carries

    webhook-id: msg_...             the same on every retry of a message (receivers dedupe)
    webhook-timestamp: 1772442000   whole Unix seconds of this attempt (replay protection)
    webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>

During a secret rotation both secrets are active and the header holds one `v1,` signature
per secret, separated by a space, so a receiver that knows either secret accepts it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64


class InvalidSecret(ValueError):
    """A secret that is not `whsec_` + base64 of 24 to 64 bytes."""


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def parse_secret(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret."""
    if not secret.startswith(PREFIX):
        raise InvalidSecret("a webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("a webhook secret is 'whsec_' followed by base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidSecret(
            f"a webhook secret holds {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, not {len(key)}"
        )
    return key


def parse_secrets(text: str) -> list[bytes]:
    """Keys from a whitespace-separated list of secrets (an environment variable holding
    `whsec_new whsec_old` while a rotation is under way)."""
    return [parse_secret(part) for part in text.split()]


def signature(keys: Sequence[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per key, space-separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


def webhook_headers(
    keys: Sequence[bytes], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one attempt; without keys the request is sent unsigned."""
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if keys:
        headers["webhook-signature"] = signature(keys, message_id, timestamp, body)
    return headers
