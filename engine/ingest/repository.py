"""Every SQL statement of ingestion.

The per-event statements (insert events, touch profiles) are batched at driver level
(`store.bulk`); the rest are Core statements that run once per batch or only on identity
changes (new users, merges, identify).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from engine.experiments.outcomes import merge_assignments
from engine.ingest.identity import IdentityPlan, Key
from engine.store.bulk import BulkWriter
from engine.store.recount import forget_profiles
from engine.store.stages import restage_profiles
from engine.store.tables import DeadLetter, Event, Identity, Profile

profiles = Profile.__table__  # type: ignore[attr-defined]
identities = Identity.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
dead_letters = DeadLetter.__table__  # type: ignore[attr-defined]

Span = tuple[datetime, datetime]  # earliest and latest event time


@dataclass
class Snapshot:
    known: dict[Key, int]
    user_of: dict[int, str | None]


def stored_message_ids(conn: Connection, message_ids: Sequence[str]) -> set[str]:
    query = select(events.c.message_id).where(events.c.message_id.in_(message_ids))
    return set(conn.execute(query).scalars())


def lock_identities(writer: BulkWriter, keys: Iterable[Key]) -> None:
    """Serialise concurrent batches that mention the same ids (PostgreSQL).

    Two API replicas receiving the first events of one user at once would both create a
    profile for it. Transaction-scoped advisory locks on the batch's identity keys, taken
    in a fixed (sorted) order so batches cannot deadlock, make the second wait and then see
    the first's profile. Batches about different users do not wait for each other. SQLite
    needs nothing: its write transactions are already serial (BEGIN IMMEDIATE).
    """
    if writer.sqlite:
        return
    writer.fetch(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h"
        " FROM unnest(CAST({p} AS text[])) AS k ORDER BY h) AS ordered",
        [[f"{kind}:{value}" for kind, value in keys]],
    )


def load_snapshot(writer: BulkWriter, keys: Iterable[Key]) -> Snapshot:
    """The identities a batch mentions and their profiles' user ids, in one query."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    snapshot = Snapshot({}, {})
    if not by_kind:
        return snapshot
    where = " OR ".join(
        f"(i.kind = {{p}} AND i.value IN ({writer.placeholders(len(v))}))" for v in by_kind.values()
    )
    params = [x for kind, values in by_kind.items() for x in (kind, *values)]
    sql = (
        "SELECT i.kind, i.value, p.id, p.user_id FROM identities i"
        f" JOIN profiles p ON p.id = i.profile_id WHERE {where}"
    )
    for kind, value, pid, user_id in writer.fetch(sql, params):
        snapshot.known[(kind, value)] = pid
        snapshot.user_of[pid] = user_id
    return snapshot


def apply_identity_plan(
    conn: Connection, plan: IdentityPlan, spans: dict[int, Span], now: datetime
) -> dict[int, int]:
    """Create, merge and re-identify profiles; return temp id -> real id."""
    real: dict[int, int] = {}
    temps = list(plan.new_profiles.items())
    if temps:
        rows: list[dict[str, Any]] = [
            {
                "user_id": user_id,
                "traits": {},
                "first_seen_at": spans[temp][0],
                "last_seen_at": spans[temp][1],
                "created_at": now,
                "updated_at": now,
            }
            for temp, user_id in temps
        ]
        stmt = insert(profiles).returning(profiles.c.id, sort_by_parameter_order=True)
        ids = conn.execute(stmt, rows).scalars().all()
        real = {temp: pid for (temp, _), pid in zip(temps, ids, strict=True)}
    for gone, survivor in plan.merges:
        _merge_profiles(conn, gone, real.get(survivor, survivor), now)
    if plan.set_user_id:
        conn.execute(
            update(profiles).where(profiles.c.id == bindparam("pid")),
            [{"pid": pid, "user_id": uid} for pid, uid in plan.set_user_id.items()],
        )
    if plan.new_identities:
        conn.execute(
            insert(identities),
            [
                {"kind": kind, "value": value, "profile_id": real.get(ref, ref)}
                for (kind, value), ref in plan.new_identities.items()
            ],
        )
    return real


def _merge_profiles(conn: Connection, gone: int, survivor: int, now: datetime) -> None:
    """Move everything of `gone` to `survivor`; the survivor's traits win on conflicts."""
    rows = conn.execute(select(profiles).where(profiles.c.id.in_([gone, survivor]))).mappings()
    by_id = {row["id"]: row for row in rows}
    a, b = by_id[gone], by_id[survivor]
    conn.execute(update(events).where(events.c.profile_id == gone).values(profile_id=survivor))
    restage_profiles(BulkWriter(conn), [survivor])  # its events now read the survivor's stages
    conn.execute(
        update(identities).where(identities.c.profile_id == gone).values(profile_id=survivor)
    )
    merge_assignments(conn, gone, survivor)  # an exposure before identify stays sticky
    forget_profiles(conn, [gone])  # its runs go with it (ON DELETE CASCADE)
    conn.execute(delete(profiles).where(profiles.c.id == gone))
    conn.execute(
        update(profiles)
        .where(profiles.c.id == survivor)
        .values(
            traits={**a["traits"], **b["traits"]},
            first_seen_at=min(a["first_seen_at"], b["first_seen_at"]),
            last_seen_at=max(a["last_seen_at"], b["last_seen_at"]),
            updated_at=now,
        )
    )


def touch_profiles(writer: BulkWriter, spans: dict[int, Span], now: datetime) -> None:
    """Widen each profile's first/last seen to include the new events."""
    sql = (
        f"UPDATE profiles SET first_seen_at = {writer.least('first_seen_at', '{p}')},"
        f" last_seen_at = {writer.greatest('last_seen_at', '{p}')}, updated_at = {{p}}"
        " WHERE id = {p}"
    )
    stamp = writer.time(now)
    rows = [(writer.time(a), writer.time(b), stamp, pid) for pid, (a, b) in spans.items()]
    writer.execute_many(sql, rows)


def load_traits(conn: Connection, profile_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    query = select(profiles.c.id, profiles.c.traits).where(profiles.c.id.in_(list(profile_ids)))
    return {pid: traits for pid, traits in conn.execute(query)}


def set_traits(conn: Connection, traits: dict[int, dict[str, Any]], now: datetime) -> None:
    if traits:
        conn.execute(
            update(profiles).where(profiles.c.id == bindparam("pid")),
            [{"pid": pid, "traits": t, "updated_at": now} for pid, t in traits.items()],
        )


def insert_dead_letters(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(dead_letters), list(rows))
