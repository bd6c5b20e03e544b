"""`/v1/inapp`: called from the SaaS app's frontend with the write key and a user hash.

The user hash is HMAC-SHA256(PARCOURS_INAPP_SECRET, user_id), computed by the SaaS backend
(like Intercom's identity verification): a browser can read its own user's items and nobody
else's. The admin key also works, for server-side calls.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from engine.api.deps import StateDep
from engine.api.openapi import ADMIN_KEY, USER_HASH, WRITE_KEY
from engine.api.state import AppState
from engine.errors import Unauthorized
from engine.inapp import service
from engine.ingest.endpoints import header_write_key
from engine.store.db import write_transaction

router = APIRouter(prefix="/v1/inapp", tags=["in-app"])

UserHashHeader = Annotated[str | None, Header(alias="X-User-Hash")]
UserHashQuery = Annotated[str | None, Query(alias="user_hash")]
WriteKeyQuery = Annotated[str | None, Query(alias="write_key")]
# An item's id (ASCII digits) or its name, as the testing kit and the content name it.
ItemRef = Annotated[str, Path(min_length=1, max_length=64)]
# Checked by `_authorise`: the write key with the user hash (browsers), or the admin key.
SECURITY: dict[str, Any] = {"security": [{WRITE_KEY: [], USER_HASH: []}, {ADMIN_KEY: []}]}


def _authorise(
    request: Request, state: AppState, user_id: str, hashed: str | None, key: str | None
) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and state.is_admin(token.strip()):
        return
    write_key = header_write_key(request) or key
    if state.source_for(write_key) is None:
        raise Unauthorized("missing or invalid write key (HTTP Basic user name or write_key)")
    if not hashed or not service.verify_user_hash(state.settings.inapp_secret, user_id, hashed):
        raise Unauthorized("X-User-Hash (or user_hash) must be HMAC-SHA256 of the user id")


@router.get("/{user_id}", openapi_extra=SECURITY)
def list_inapp_items(
    user_id: str,
    request: Request,
    state: StateDep,
    hashed: UserHashHeader = None,
    hashed_query: UserHashQuery = None,
    write_key: WriteKeyQuery = None,
) -> dict[str, list[dict[str, Any]]]:
    """Tutorials and tips waiting for this user, highest priority first."""
    _authorise(request, state, user_id, hashed or hashed_query, write_key)
    with state.engine.connect() as conn:
        return {"items": service.list_items(conn, user_id, state.clock.now())}


@router.post("/{user_id}/{item}/{outcome}", openapi_extra=SECURITY)
async def record_inapp_outcome(
    user_id: str,
    item: ItemRef,
    outcome: Literal["seen", "completed", "dismissed"],
    request: Request,
    state: StateDep,
    hashed: UserHashHeader = None,
    hashed_query: UserHashQuery = None,
    write_key: WriteKeyQuery = None,
) -> dict[str, Any]:
    """Record that the user saw, completed or dismissed an item (an event flows can use).
    The item is named by its id or by its name (the tutorial's or tip's, as in the content)."""
    _authorise(request, state, user_id, hashed or hashed_query, write_key)

    def record() -> dict[str, Any]:
        with write_transaction(state.engine) as conn:
            now = state.clock.now()
            return service.record_outcome(
                conn, state.catalog, user_id, item, outcome, now, state.guardrails
            )

    return await run_in_threadpool(record)
