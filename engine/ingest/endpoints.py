"""Segment-compatible Tracking API: `/v1/batch` and the single-call endpoints.

Segment's browser library (analytics.js, `@segment/analytics-next`) posts to short paths
(`/v1/t`, `/v1/i`, `/v1/p`, `/v1/s`, `/v1/g`, `/v1/a`, `/v1/b` for a batch) with `text/plain`
JSON bodies (a CORS simple request) and the write key in the body: each short path is the same
endpoint as its long name, and the body is read whatever its Content-Type says.

Answers exactly `200 {"success": true}` once the events are committed; SDKs treat any other
2xx as a failure. Errors carry `code` and `message`, which the SDKs read.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError

from engine.api.body import read_body
from engine.api.deps import get_state
from engine.api.openapi import WRITE_KEY, error_response
from engine.api.state import AppState
from engine.errors import BadRequest, Unauthorized
from engine.ingest import service
from engine.ingest.parse import Parsed, decode_body, parse_batch, parse_single
from engine.ingest.schemas import MESSAGE_TYPES, body_ref
from engine.pipeline import process_messages
from engine.store.db import write_transaction

router = APIRouter(prefix="/v1", tags=["ingestion"])

SUCCESS = b'{"success":true}'
_ATTEMPTS = 3  # concurrent first sightings of one user can collide on PostgreSQL


def header_write_key(request: Request) -> str | None:
    """The write key from HTTP Basic auth (user name, empty password), if sent."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("use HTTP Basic auth with the write key as the user name")
    try:
        user, _, _ = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except ValueError as exc:  # bad base64, non-ASCII text, or not UTF-8 once decoded
        raise Unauthorized("malformed HTTP Basic credentials") from exc
    return user


def _authenticate(state: AppState, key: str | None) -> str:
    source = state.source_for(key)
    if source is None:
        raise Unauthorized(
            "missing or invalid write key: send it as the HTTP Basic user name or as writeKey"
        )
    return source


async def _receive(request: Request, kind: str) -> Response:
    state = get_state(request)
    settings = state.settings
    header_key = header_write_key(request)
    source = _authenticate(state, header_key) if header_key is not None else None
    is_batch = kind == "batch"
    limit = settings.max_batch_bytes if is_batch else settings.max_call_bytes
    raw = await read_body(request, limit, "a batch" if is_batch else f"a {kind} call")
    body = decode_body(raw)
    if source is None:
        key = body.get("writeKey") if isinstance(body, dict) else None
        source = _authenticate(state, key if isinstance(key, str) else None)
    if not isinstance(body, dict):
        reason = "body is not valid JSON" if body is None else "body must be a JSON object"
        await run_in_threadpool(_keep_unparsable, state, raw, reason, source, kind)
        raise BadRequest(reason, code="invalid_json")
    parsed = parse_batch(body) if is_batch else parse_single(body, kind)
    await run_in_threadpool(_store, state, parsed, source, kind)
    if parsed.rejected:
        raise _rejection(parsed, is_batch)
    return Response(SUCCESS, media_type="application/json")


def _store(state: AppState, parsed: Parsed, source: str, endpoint: str) -> None:
    now = state.clock.now()
    for attempt in range(_ATTEMPTS):
        try:
            with write_transaction(state.engine) as conn:
                messages = parsed.messages
                result = process_messages(
                    conn,
                    state.catalog,
                    messages,
                    now,
                    state.guardrails,
                    identified_merges=state.is_server_source(source),
                ).ingest
                service.store_rejected(
                    conn, parsed.rejected, source=source, endpoint=endpoint, now=now
                )
            break
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    metrics = state.metrics
    for message in parsed.messages:
        metrics.messages_received.labels(message.type).inc()
    metrics.events_stored.inc(result.stored)
    metrics.events_duplicate.inc(result.duplicates)
    metrics.messages_rejected.inc(len(parsed.rejected))
    metrics.aliases_refused.inc(result.refused_aliases)


def _keep_unparsable(state: AppState, raw: bytes, reason: str, source: str, kind: str) -> None:
    with write_transaction(state.engine) as conn:
        service.store_unparsable(
            conn,
            raw,
            reason,
            source=source,
            endpoint=kind,
            now=state.clock.now(),
        )
    state.metrics.messages_rejected.inc()


def _rejection(parsed: Parsed, is_batch: bool) -> BadRequest:
    errors = [e.as_dict() for e in parsed.errors]
    if not is_batch:
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return BadRequest(text, code="invalid_message", errors=errors)
    bad, good = len(parsed.rejected), len(parsed.messages)
    text = (
        f"{bad} of {bad + good} messages were rejected and kept as dead letters "
        f"(the other {good} were stored): "
        + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    )
    return BadRequest(text, code="invalid_items", errors=errors)


def _endpoint(kind: str) -> Any:
    async def receive(request: Request) -> Response:
        return await _receive(request, kind)

    receive.__name__ = f"receive_{kind}"
    receive.__doc__ = (
        "Store a batch of Segment messages." if kind == "batch" else f"Store one {kind} call."
    )
    return receive


# analytics.js's short paths: the first letter of each call (`POST /v1/t` is track; the email
# tracking routes under `/v1/t/o/...` and `/v1/t/c/...` are GETs with more segments).
SHORT_PATHS = {kind[0]: kind for kind in ("batch", *MESSAGE_TYPES)}

for _short, _kind in SHORT_PATHS.items():
    router.add_api_route(f"/{_short}", _endpoint(_kind), methods=["POST"], include_in_schema=False)

for _kind in ("batch", *MESSAGE_TYPES):
    router.add_api_route(
        f"/{_kind}",
        _endpoint(_kind),
        methods=["POST"],
        responses={
            200: {"content": {"application/json": {"example": {"success": True}}}},
            413: error_response(413),
        },
        # The body is read and validated here, item by item; the schema only documents it.
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": body_ref(_kind)}}},
            },
            "security": [{WRITE_KEY: []}],
        },
    )
