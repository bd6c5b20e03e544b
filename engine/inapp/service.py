"""Showing in-app items and recording what the user did with them.

An outcome (seen, completed, dismissed) is recorded as a regular event — `tip_seen`,
`tutorial_completed`, ... — through the same pipeline as the SaaS app's own events, so
stages, segments, flow triggers and `wait_until: {engaged: step}` can all use it. Its
messageId is derived from the item and outcome, so a double click records it once.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog
from engine.catalog.internal_events import INAPP_OUTCOMES, inapp_outcome
from engine.compare import same_secret
from engine.errors import BadRequest, NotFound
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.inapp import repository as repo
from engine.ingest.schemas import Track
from engine.pipeline import process_messages
from engine.profiles.repository import find_profile_id
from engine.store.ids import parse_id

OUTCOMES = INAPP_OUTCOMES
FINAL = ("completed", "dismissed")


def user_hash(secret: str, user_id: str) -> str:
    """What the SaaS backend computes and hands to its frontend (identity verification)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_user_hash(secret: str, user_id: str, given: str) -> bool:
    return same_secret(user_hash(secret, user_id), given.lower())


def profile_id_of(conn: Connection, user_id: str) -> int:
    """By user id only: the hash vouches for a user id, and an anonymous id can be tied to
    any profile by whoever holds the public write key."""
    pid = find_profile_id(conn, user_id, ("user",))
    if pid is None:
        raise NotFound(f"no profile for user id {user_id!r}")
    return pid


def list_items(conn: Connection, user_id: str, now: datetime) -> list[dict[str, Any]]:
    pid = profile_id_of(conn, user_id)
    return [_public(row) for row in repo.pending_items(conn, pid, now)]


def record_outcome(
    conn: Connection,
    catalog: Catalog,
    user_id: str,
    ref: int | str,
    outcome: str,
    now: datetime,
    guardrails: Guardrails = NO_GUARDRAILS,
) -> dict[str, Any]:
    """Record an outcome of the item `ref` names: its id, or its name (ASCII digits are an id)."""
    if outcome not in OUTCOMES:
        raise BadRequest(f"outcome must be one of {', '.join(OUTCOMES)}", code="invalid_outcome")
    pid = profile_id_of(conn, user_id)
    item_id = ref if isinstance(ref, int) else parse_id(ref)
    item = repo.get_item(conn, pid, item_id) if item_id else repo.item_named(conn, pid, str(ref))
    if item is None:
        raise NotFound(f"no in-app item {ref!r} for user {user_id!r}")
    item_id = item["id"]
    if item["status"] not in FINAL and not (outcome == "seen" and item["status"] == "seen"):
        repo.set_status(conn, item_id, outcome, now)
    content = item["content"]
    event = Track(
        type="track",
        event=inapp_outcome(item["kind"], outcome),
        messageId=f"inapp:{item_id}:{outcome}",
        userId=user_id,
        timestamp=now,
        properties={
            "item": item["name"],
            "item_id": item_id,
            "flow": content.get("flow"),
            "step": content.get("step"),
            "run_id": content.get("run_id"),
        },
    )
    process_messages(conn, catalog, [event], now, guardrails)
    return _public(repo.get_item(conn, pid, item_id) or item)


def _public(row: Any) -> dict[str, Any]:
    content = dict(row["content"])
    for internal in ("flow", "step", "run_id"):
        content.pop(internal, None)
    return {
        "id": row["id"],
        "kind": row["kind"],
        "name": row["name"],
        "priority": row["priority"],
        "status": row["status"],
        "expires_at": row["expires_at"],
        **content,
    }
