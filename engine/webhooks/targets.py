"""Where a message goes and which keys sign it, for content and API endpoints.

Content endpoints name an environment variable (`secret_env`) so secrets never sit in
content; it may hold several space-separated secrets while a rotation is under way. API
endpoints keep their secret, and the previous one until it expires. A message whose
secret is missing is retried, never sent unsigned: fixing the configuration resumes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.catalog.catalog import Catalog
from engine.webhooks.signing import InvalidSecret, parse_secret, parse_secrets


class SecretUnavailable(Exception):
    """The endpoint should be signed but its secret is missing or malformed (retry later)."""


class EndpointGone(Exception):
    """The endpoint no longer exists (permanent; the message can be replayed once it does)."""


@dataclass(frozen=True)
class Target:
    url: str
    keys: tuple[bytes, ...]


def content_keys(secret_env: str | None, environ: Mapping[str, str]) -> tuple[bytes, ...]:
    if secret_env is None:
        return ()
    text = environ.get(secret_env, "").strip()
    if not text:
        raise SecretUnavailable(
            f"environment variable {secret_env} (the endpoint's secret) is not set; "
            "nothing is sent unsigned"
        )
    try:
        return tuple(parse_secrets(text))
    except InvalidSecret as exc:
        raise SecretUnavailable(f"{secret_env}: {exc}") from None


def api_keys(row: Mapping[Any, Any], now: datetime) -> tuple[bytes, ...]:
    """The current secret, and the previous one while it has not expired."""
    keys = [parse_secret(row["secret"])]
    expires = row["previous_secret_expires_at"]
    if row["previous_secret"] and expires is not None and expires > now:
        keys.append(parse_secret(row["previous_secret"]))
    return tuple(keys)


def message_target(
    message: Mapping[Any, Any],
    catalog: Catalog,
    api: Mapping[int, Mapping[Any, Any]],
    environ: Mapping[str, str],
    now: datetime,
) -> Target:
    """The URL and keys of an outbox message's endpoint, as configured now."""
    if message["endpoint_id"] is not None:
        row = api.get(message["endpoint_id"])
        if row is None:
            raise EndpointGone(f"endpoint {message['endpoint_id']} was deleted")
        return Target(row["url"], api_keys(row, now))
    endpoint = catalog.endpoints.get(message["endpoint_name"])
    if endpoint is None:
        raise EndpointGone(f"endpoint '{message['endpoint_name']}' is no longer in the content")
    return Target(endpoint.url, content_keys(endpoint.secret_env, environ))
