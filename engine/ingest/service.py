"""Store a batch of validated messages: resolve profiles, insert events once, fold traits.

The caller owns the transaction (`store.db.write_transaction`); nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.ingest import repository as repo
from engine.ingest.identity import IdentityResolver, Key
from engine.ingest.parse import Rejected
from engine.ingest.repository import ProfileState
from engine.ingest.schemas import Alias, AnyMessage, Identify
from engine.ingest.timestamps import corrected_timestamp


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int


def store_messages(conn: Connection, messages: list[AnyMessage], now: datetime) -> IngestResult:
    """Store messages exactly once by messageId; `now` is the receive time."""
    unique = _first_per_message_id(messages)
    snapshot = repo.load_snapshot(conn, _identity_keys(unique))
    resolver = IdentityResolver(
        snapshot.known, {pid: p.user_id for pid, p in snapshot.profiles.items()}
    )
    refs = [resolver.resolve(m) for m in unique]
    plan = resolver.finish()
    real = repo.apply_identity_plan(conn, plan, now)
    profile_ids = [_real_id(resolver.find(ref), real) for ref in refs]
    rows = [_event_row(m, pid, now) for m, pid in zip(unique, profile_ids, strict=True)]
    inserted = repo.insert_events(conn, rows)

    states = _merged_states(snapshot.profiles, plan.merges)
    changed: dict[int, ProfileState] = {}
    for message, row in zip(unique, rows, strict=True):
        if message.message_id in inserted:
            pid = row["profile_id"]
            base = changed.get(pid) or states.get(pid)
            changed[pid] = _fold(base, message, row["timestamp"])
    repo.update_profiles(conn, changed, now)
    return IngestResult(stored=len(inserted), duplicates=len(messages) - len(inserted))


def store_rejected(
    conn: Connection, rejected: list[Rejected], *, source: str, endpoint: str, now: datetime
) -> None:
    """Keep every rejected item whole, with its reasons, in the dead-letter table."""
    repo.insert_dead_letters(
        conn,
        [
            {
                "received_at": now,
                "source": source,
                "endpoint": endpoint,
                "item_index": r.index,
                "errors": [e.as_dict() for e in r.errors],
                "payload": r.payload,
                "raw": None,
            }
            for r in rejected
        ],
    )


def store_unparsable(
    conn: Connection, raw: str, reason: str, *, source: str, endpoint: str, now: datetime
) -> None:
    """Keep a body that is not JSON at all, as text."""
    repo.insert_dead_letters(
        conn,
        [
            {
                "received_at": now,
                "source": source,
                "endpoint": endpoint,
                "item_index": None,
                "errors": [{"field": "body", "message": reason}],
                "payload": None,
                "raw": raw,
            }
        ],
    )


def _first_per_message_id(messages: list[AnyMessage]) -> list[AnyMessage]:
    seen: set[str | None] = set()
    unique = []
    for m in messages:
        if m.message_id not in seen:
            seen.add(m.message_id)
            unique.append(m)
    return unique


def _identity_keys(messages: list[AnyMessage]) -> set[Key]:
    keys: set[Key] = set()
    for m in messages:
        if m.user_id:
            keys.add(("user", m.user_id))
        if m.anonymous_id:
            keys.add(("anonymous", m.anonymous_id))
        if isinstance(m, Alias):
            keys.update({("user", m.previous_id), ("anonymous", m.previous_id)})
    return keys


def _real_id(ref: int, real: dict[int, int]) -> int:
    return real[ref] if ref < 0 else ref


def _event_row(message: AnyMessage, profile_id: int, now: datetime) -> dict[str, Any]:
    original = message.original_timestamp or message.timestamp
    return {
        "message_id": message.message_id,
        "profile_id": profile_id,
        "type": message.type,
        "name": message.event_name,
        "user_id": message.user_id,
        "anonymous_id": message.anonymous_id,
        "properties": message.event_properties,
        "context": message.context,
        "timestamp": corrected_timestamp(
            original=original, sent_at=message.sent_at, received_at=now
        ),
        "original_timestamp": original,
        "sent_at": message.sent_at,
        "received_at": now,
    }


def _merged_states(
    states: dict[int, ProfileState], merges: list[tuple[int, int]]
) -> dict[int, ProfileState]:
    """Profile states after merges: the survivor's traits win over the absorbed profile's."""
    out = dict(states)
    for gone, survivor in merges:
        a, b = out.pop(gone), out.get(survivor)
        if b is None:  # survivor created in this batch
            continue
        out[survivor] = ProfileState(
            user_id=b.user_id,
            traits={**a.traits, **b.traits},
            first_seen_at=min(a.first_seen_at, b.first_seen_at),
            last_seen_at=max(a.last_seen_at, b.last_seen_at),
        )
    return out


def _fold(state: ProfileState | None, message: AnyMessage, at: datetime) -> ProfileState:
    if state is None:  # a profile created in this batch
        state = ProfileState(None, {}, at, at)
    traits = {**state.traits, **message.all_traits} if isinstance(message, Identify) else None
    return replace(
        state,
        traits=state.traits if traits is None else traits,
        first_seen_at=min(state.first_seen_at, at),
        last_seen_at=max(state.last_seen_at, at),
    )
