"""Store a batch of validated messages: resolve profiles, insert new events, fold traits.

Messages whose messageId is already stored are skipped before anything else happens, so a
retried batch changes nothing. The caller owns the transaction
(`store.db.write_transaction`); nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from engine.audience.service import ProfileChange
from engine.catalog.dependencies import Dependencies
from engine.experiments.late import Written, settled
from engine.ingest import repository as repo
from engine.ingest.identity import IdentityResolver, Key
from engine.ingest.parse import Rejected
from engine.ingest.repository import Span
from engine.ingest.schemas import Alias, AnyMessage, Group, Identify, Page, Track
from engine.ingest.timestamps import corrected_timestamp
from engine.ingest.values import as_dead_letter, body_text
from engine.store.bulk import BulkWriter
from engine.store.events import insert_events


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    changes: dict[int, ProfileChange] = field(default_factory=dict)  # by profile id
    # (profile id, event name, properties) of each new track/page/screen event, in order
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    # the new events that may fall in folded experiment windows (engine.experiments.late)
    late: list[Written] = field(default_factory=list)
    # aliases from a public key that named another identified user's profile: stored, no merge
    refused_aliases: int = 0


def store_messages(
    conn: Connection,
    messages: list[AnyMessage],
    now: datetime,
    *,
    identified_merges: bool = True,
) -> IngestResult:
    """Store messages exactly once by messageId; `now` is the receive time.

    `identified_merges` is False for messages sent with a public (browser) write key: their
    aliases never merge two identified users (engine.ingest.identity).

    Most batches hold no stored message, so the batch is first written optimistically inside
    a savepoint; a unique violation (an SDK retry) rolls it back and the batch is written
    again without the messages already stored.
    """
    unique = _first_per_message_id(messages)
    repo.lock_identities(BulkWriter(conn), _identity_keys(unique))
    try:
        with conn.begin_nested():
            return _store_new(conn, unique, now, len(messages), identified_merges)
    except IntegrityError:
        stored = repo.stored_message_ids(conn, [m.message_id for m in unique])
    new = [m for m in unique if m.message_id not in stored]
    if not new:
        return IngestResult(0, len(messages))
    return _store_new(conn, new, now, len(messages), identified_merges)


def _store_new(
    conn: Connection, new: list[AnyMessage], now: datetime, sent: int, identified_merges: bool
) -> IngestResult:
    times = [_event_time(m, now) for m in new]
    writer = BulkWriter(conn)
    snapshot = repo.load_snapshot(writer, _identity_keys(new))
    resolver = IdentityResolver(
        snapshot.known, snapshot.user_of, identified_merges=identified_merges
    )
    refs = [resolver.resolve(m) for m in new]
    plan = resolver.finish()
    final_refs = [resolver.find(ref) for ref in refs]
    spans = _spans(final_refs, times)
    real = repo.apply_identity_plan(conn, plan, spans, now)
    profile_ids = [real.get(ref, ref) for ref in final_refs]

    received = writer.time(now)
    insert_events(
        writer,
        [
            _event_row(writer, m, pid, t, received)
            for m, pid, t in zip(new, profile_ids, times, strict=True)
        ],
    )
    repo.touch_profiles(writer, {ref: s for ref, s in spans.items() if ref > 0}, now)
    _fold_traits(conn, new, profile_ids, now)
    merged = {real.get(survivor, survivor) for _, survivor in plan.merges}
    events = [
        (pid, m.event_name, m.event_properties)
        for m, pid in zip(new, profile_ids, strict=True)
        if isinstance(m, Track | Page) and m.event_name is not None
    ]
    bound = settled(now)
    late = [
        Written(pid, at, m.type, m.event_name)
        for m, pid, at in zip(new, profile_ids, times, strict=True)
        if at <= bound
    ]
    changes = _changes(new, profile_ids, times, merged)
    return IngestResult(len(new), sent - len(new), changes, events, late, plan.refused_aliases)


def store_rejected(
    conn: Connection,
    rejected: list[Rejected],
    *,
    source: str,
    endpoint: str,
    now: datetime,
) -> None:
    """Keep every rejected item whole, with its reasons, in the dead-letter table.

    An item holding what JSON columns cannot store is kept as text (`values.as_dead_letter`).
    """
    repo.insert_dead_letters(
        conn,
        [
            _dead_letter(
                now,
                source,
                endpoint,
                r.index,
                [e.as_dict() for e in r.errors],
                *as_dead_letter(r.payload),
            )
            for r in rejected
        ],
    )


def store_unparsable(
    conn: Connection, body: bytes, reason: str, *, source: str, endpoint: str, now: datetime
) -> None:
    """Keep a body that is not a JSON object at all, as text."""
    errors = [{"field": "body", "message": reason}]
    letter = _dead_letter(now, source, endpoint, None, errors, None, body_text(body))
    repo.insert_dead_letters(conn, [letter])


def _dead_letter(
    now: datetime,
    source: str,
    endpoint: str,
    index: int | None,
    errors: list[dict[str, Any]],
    payload: Any,
    raw: str | None = None,
) -> dict[str, Any]:
    return {
        "received_at": now,
        "source": source,
        "endpoint": endpoint,
        "item_index": index,
        "errors": errors,
        "payload": payload,
        "raw": raw,
    }


def _first_per_message_id(messages: list[AnyMessage]) -> list[AnyMessage]:
    seen: set[str] = set()
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


def _event_time(message: AnyMessage, now: datetime) -> datetime:
    original = message.original_timestamp or message.timestamp
    return corrected_timestamp(original=original, sent_at=message.sent_at, received_at=now)


def _spans(refs: list[int], times: list[datetime]) -> dict[int, Span]:
    spans: dict[int, Span] = {}
    for ref, at in zip(refs, times, strict=True):
        first, last = spans.get(ref, (at, at))
        spans[ref] = (min(first, at), max(last, at))
    return spans


def _event_row(
    w: BulkWriter, m: AnyMessage, profile_id: int, at: datetime, received: str
) -> tuple[Any, ...]:
    original = m.original_timestamp or m.timestamp
    encoded_original = w.time(original)
    return (
        m.message_id,
        profile_id,
        m.type,
        m.event_name,
        m.user_id,
        m.anonymous_id,
        w.json(m.event_properties),
        w.json(m.context),
        encoded_original if at is original else w.time(at),
        encoded_original,
        w.time(m.sent_at),
        received,
    )


def _changes(
    messages: list[AnyMessage], profile_ids: list[int], times: list[datetime], merged: set[int]
) -> dict[int, ProfileChange]:
    """Per profile: the latest event time, and the event names and traits that changed.

    A merged profile gained a whole history at once, so everything is re-evaluated.
    """
    seen: dict[int, tuple[datetime, set[str], set[str]]] = {}
    for m, pid, at in zip(messages, profile_ids, times, strict=True):
        latest, names, keys = seen.setdefault(pid, (at, set(), set()))
        if isinstance(m, Identify):
            keys.update(m.all_traits)
        elif m.event_name is not None and not isinstance(m, Alias | Group):
            names.add(m.event_name)
        seen[pid] = (max(latest, at), names, keys)
    return {
        pid: ProfileChange(
            at,
            None
            if pid in merged
            else Dependencies(event_names=frozenset(names), trait_keys=frozenset(keys)),
        )
        for pid, (at, names, keys) in seen.items()
    }


def _fold_traits(
    conn: Connection, messages: list[AnyMessage], profile_ids: list[int], now: datetime
) -> None:
    """Merge identify traits into profiles, later calls winning, in one read and one write."""
    identifies = [
        (pid, m.all_traits)
        for m, pid in zip(messages, profile_ids, strict=True)
        if isinstance(m, Identify) and m.all_traits
    ]
    if not identifies:
        return
    traits = repo.load_traits(conn, {pid for pid, _ in identifies})
    for pid, new_traits in identifies:
        traits[pid] = {**traits[pid], **new_traits}
    repo.set_traits(conn, traits, now)
