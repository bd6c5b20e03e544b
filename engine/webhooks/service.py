"""Webhook subscriptions and their administration. Nothing here commits.

`publish` writes one outbox message per (subscribed endpoint, event) in the caller's
transaction, the one that records the facts reported, so a message exists exactly when its
fact does; `engine.webhooks.tasks.send_due_webhooks` sends it after commit.

    EngineError
    ├── BadRequest (400)    a cursor that no page handed out
    ├── NotFound (404)      no such endpoint or message
    └── Conflict (409)      content endpoints are edited in content; only dead messages replay
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping

from engine.catalog.catalog import Catalog
from engine.catalog.definitions import Endpoint
from engine.errors import BadRequest, EngineError, NotFound
from engine.store.bulk import BulkWriter
from engine.store.ids import parse_id
from engine.webhooks import repository as repo
from engine.webhooks.events import (
    OCCURRENCE_TYPES,
    WebhookEvent,
    event_body,
    new_message_id,
    occurrence_events,
    subscribed,
)
from engine.webhooks.repository import EndpointRef
from engine.webhooks.schemas import (
    AttemptPage,
    AttemptPublic,
    EndpointCreate,
    EndpointList,
    EndpointPublic,
    EndpointWithSecret,
    MessagePage,
    MessagePublic,
    Replayed,
    SecretRotation,
)
from engine.webhooks.signing import generate_secret


class Conflict(EngineError):
    status_code = 409
    code = "conflict"


def publish(
    conn: Connection, catalog: Catalog, events: Sequence[WebhookEvent], now: datetime
) -> int:
    """Queue `events` for every endpoint subscribed to them; returns the messages written."""
    if not events:
        return 0
    targets: list[tuple[EndpointRef, Sequence[str]]] = [
        (EndpointRef(name=n), e.events) for n, e in catalog.endpoints.items() if e.events
    ]
    targets += [(EndpointRef(id=i), ev) for i, ev in repo.subscriptions(conn) if ev]
    rows = []
    for event in events:
        refs = [ref for ref, patterns in targets if subscribed(patterns, event.type)]
        body = event_body(event, now) if refs else None  # most events have no subscriber
        rows += [
            {
                "message_id": new_message_id(),
                "endpoint_id": ref.id,
                "endpoint_name": ref.name,
                "profile_id": event.profile_id,
                "event_type": event.type,
                "payload": body,
                "created_at": now,
            }
            for ref in refs
        ]
    repo.add_messages(BulkWriter(conn), rows)
    return len(rows)


def publish_occurrences(
    conn: Connection,
    catalog: Catalog,
    occurrences: Iterable[tuple[int, str, Mapping[str, Any]]],
    now: datetime,
) -> int:
    """`publish` for a batch's internal occurrences (stage and segment changes, exposures)."""
    items = [o for o in occurrences if o[1] in OCCURRENCE_TYPES]
    if not items:
        return 0
    user_ids = repo.user_ids(conn, {pid for pid, _, _ in items})
    return publish(conn, catalog, occurrence_events(items, user_ids), now)


# -- endpoints -----------------------------------------------------------------------------


def create_endpoint(conn: Connection, body: EndpointCreate, now: datetime) -> EndpointWithSecret:
    """Store an API endpoint; its secret is returned this once."""
    secret = body.secret or generate_secret()
    row = body.model_dump(exclude={"secret"}) | {
        "secret": secret,
        "created_at": now,
        "updated_at": now,
    }
    row["id"] = repo.insert_endpoint(conn, row)
    return EndpointWithSecret(**_api_public(row).model_dump(), secret=secret)


def list_endpoints(conn: Connection, catalog: Catalog) -> EndpointList:
    """Content endpoints (by name), then API endpoints (by id)."""
    content = [_content_public(e) for e in catalog.endpoints.values()]
    return EndpointList(data=content + [_api_public(r) for r in repo.api_endpoints(conn)])


def get_endpoint(conn: Connection, catalog: Catalog, key: str) -> EndpointPublic:
    ref = EndpointRef.parse(key)
    if ref.name is not None:
        return _content_public(_content_endpoint(catalog, ref.name))
    return _api_public(_api_endpoint(conn, key))


def delete_endpoint(conn: Connection, catalog: Catalog, key: str) -> None:
    """Delete an API endpoint with its pending messages and its attempt log."""
    ref = EndpointRef.parse(key)
    if ref.name is not None:
        _content_endpoint(catalog, ref.name)
        raise Conflict(f"endpoint '{key}' is defined in content; remove it there")
    if ref.id is None or not repo.delete_endpoint(conn, ref.id):
        raise NotFound(f"no webhook endpoint {key!r}")


def rotate_secret(
    conn: Connection, catalog: Catalog, key: str, rotation: SecretRotation, now: datetime
) -> EndpointWithSecret:
    """Sign with a new secret; the current one also signs for `overlap_hours`."""
    ref = EndpointRef.parse(key)
    if ref.name is not None:
        endpoint = _content_endpoint(catalog, ref.name)
        raise Conflict(
            f"endpoint '{key}' is defined in content: put the new and the old secret, "
            f"space-separated, in {endpoint.secret_env or 'its secret_env variable'}"
        )
    row = dict(_api_endpoint(conn, key))
    secret = rotation.secret or generate_secret()
    changes = {
        "secret": secret,
        "previous_secret": row["secret"],
        "previous_secret_expires_at": now + timedelta(hours=rotation.overlap_hours),
        "updated_at": now,
    }
    repo.update_endpoint(conn, row["id"], changes)
    return EndpointWithSecret(**_api_public(row | changes).model_dump(), secret=secret)


def _content_endpoint(catalog: Catalog, name: str) -> Endpoint:
    endpoint = catalog.endpoints.get(name)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {name!r} in the content")
    return endpoint


def _api_endpoint(conn: Connection, key: str) -> RowMapping:
    ref = EndpointRef.parse(key)
    rows = repo.api_endpoints(conn, [ref.id]) if ref.id is not None else []
    if not rows:
        raise NotFound(f"no webhook endpoint {key!r}")
    return rows[0]


def _content_public(endpoint: Endpoint) -> EndpointPublic:
    return EndpointPublic(
        id=endpoint.endpoint,
        source="content",
        url=endpoint.url,
        events=list(endpoint.events),
        description=endpoint.description,
        signed=endpoint.secret_env is not None,
        secret_env=endpoint.secret_env,
    )


def _api_public(row: Mapping[Any, Any]) -> EndpointPublic:
    return EndpointPublic(
        id=str(row["id"]),
        source="api",
        url=row["url"],
        events=row["events"],
        description=row["description"],
        signed=True,
        previous_secret_expires_at=row.get("previous_secret_expires_at"),
        created_at=row["created_at"],
    )


# -- delivery log, dead letters, replay ----------------------------------------------------


def _known(conn: Connection, catalog: Catalog, key: str) -> EndpointRef:
    get_endpoint(conn, catalog, key)
    return EndpointRef.parse(key)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    found = parse_id(cursor)
    if found is None:
        raise BadRequest(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page")
    return found


def list_attempts(
    conn: Connection, catalog: Catalog, key: str, limit: int, cursor: str | None
) -> AttemptPage:
    """An endpoint's delivery log, newest first."""
    rows = repo.list_attempts(conn, _known(conn, catalog, key), _cursor(cursor), limit)
    data = [
        AttemptPublic(
            id=r["id"],
            message_id=r["webhook_id"],
            delivery_id=r["delivery_id"],
            event_type=r["event_type"],
            attempted_at=r["attempted_at"],
            outcome=r["outcome"],
            status_code=r["status_code"],
            response=r["response"],
            error=r["error"],
            duration_ms=r["duration_ms"],
        )
        for r in rows
    ]
    return AttemptPage(data=data, next_cursor=_next(rows, limit))


def list_messages(
    conn: Connection,
    catalog: Catalog,
    endpoint: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> MessagePage:
    """Outbox messages newest first; `status=dead` lists the dead letters."""
    ref = None if endpoint is None else _known(conn, catalog, endpoint)
    rows = repo.list_messages(conn, ref, status, _cursor(cursor), limit)
    return MessagePage(data=[_message(r) for r in rows], next_cursor=_next(rows, limit))


def replay_message(conn: Connection, message_id: str, now: datetime) -> MessagePublic:
    """Send a dead message again, with a fresh retry budget and the same `webhook-id`."""
    row = repo.message_by_webhook_id(conn, message_id)
    if row is None:
        raise NotFound(f"no webhook message {message_id!r}")
    if not repo.requeue_message(conn, row["id"], now):
        raise Conflict(f"message {message_id!r} is {row['status']}; only dead messages replay")
    replayed = repo.message_by_webhook_id(conn, message_id)
    assert replayed is not None
    return _message(replayed)


def replay_endpoint(conn: Connection, catalog: Catalog, key: str, now: datetime) -> Replayed:
    """Send every dead message of an endpoint again (after fixing the receiver)."""
    ref = _known(conn, catalog, key)
    return Replayed(replayed=repo.requeue_endpoint(conn, ref, now))


def _message(row: Mapping[Any, Any]) -> MessagePublic:
    ref = EndpointRef(row["endpoint_id"], row["endpoint_name"])
    return MessagePublic(
        id=row["message_id"],
        endpoint=ref.key,
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
        payload=row["payload"],
    )


def _next(rows: Sequence[Mapping[Any, Any]], limit: int) -> str | None:
    return str(rows[-1]["id"]) if len(rows) == limit else None
