"""Every SQL statement of the audience: facts in, stage entries and memberships out."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from engine.audience.evaluate import EventFact
from engine.ingest.repository import profiles
from engine.store.bulk import BulkWriter
from engine.store.stages import restage
from engine.store.tables import DatePlan, DateReevaluation, SegmentMembership, StageEntry

stage_entries = StageEntry.__table__  # type: ignore[attr-defined]
memberships = SegmentMembership.__table__  # type: ignore[attr-defined]
date_reevaluations = DateReevaluation.__table__  # type: ignore[attr-defined]
date_plans = DatePlan.__table__  # type: ignore[attr-defined]


@dataclass
class StoredAudience:
    """One profile as the audience sees it, before evaluation."""

    user_id: str | None
    traits: dict[str, Any]
    first_seen_at: datetime
    persona: str | None
    stage_entries: dict[str, datetime]
    active_segments: set[str]
    known_segments: dict[str, int]  # times entered, exited memberships too (re-entry updates)
    events: list[EventFact]


def load_audience(
    conn: Connection, profile_ids: Collection[int], event_names: Collection[str]
) -> dict[int, StoredAudience]:
    """Profiles with their entries, memberships and the events named in `event_names`."""
    out = load_profiles(conn, profile_ids)
    load_facts(conn, out, event_names)
    return out


def load_profiles(conn: Connection, profile_ids: Collection[int]) -> dict[int, StoredAudience]:
    """Profiles alone (user id, traits, persona), their facts left empty for `load_facts`.
    Read at driver level: every flow batch and timer tick starts here."""
    ids = list(profile_ids)
    if not ids:
        return {}
    writer = BulkWriter(conn)
    sql = (
        "SELECT id, user_id, traits, first_seen_at, persona FROM profiles"
        f" WHERE id IN ({writer.placeholders(len(ids))})"
    )
    return {
        pid: StoredAudience(
            uid, writer.read_json(traits), writer.read_time(first), persona, {}, set(), {}, []
        )
        for pid, uid, traits, first, persona in writer.fetch(sql, ids)
    }


def load_facts(
    conn: Connection, out: dict[int, StoredAudience], event_names: Collection[str]
) -> None:
    """Fill in the stage entries, memberships and named events of the profiles in `out`."""
    ids = list(out)
    entries = select(stage_entries.c.profile_id, stage_entries.c.stage, stage_entries.c.entered_at)
    for pid, stage, at in conn.execute(entries.where(stage_entries.c.profile_id.in_(ids))):
        out[pid].stage_entries[stage] = at
    members = select(
        memberships.c.profile_id,
        memberships.c.segment,
        memberships.c.exited_at,
        memberships.c.times_entered,
    )
    for pid, segment, exited, times in conn.execute(
        members.where(memberships.c.profile_id.in_(ids))
    ):
        out[pid].known_segments[segment] = times
        if exited is None:
            out[pid].active_segments.add(segment)
    if event_names and ids:
        _load_events(BulkWriter(conn), out, ids, list(event_names))


def _load_events(
    writer: BulkWriter, out: dict[int, StoredAudience], ids: list[int], names: list[str]
) -> None:
    """The named events of the profiles, at driver level: this is the largest read per batch."""
    sql = (
        "SELECT profile_id, name, properties, timestamp FROM events"
        f" WHERE profile_id IN ({writer.placeholders(len(ids))})"
        f" AND name IN ({writer.placeholders(len(names))}) ORDER BY id"
    )
    for pid, name, properties, at in writer.fetch(sql, [*ids, *names]):
        out[pid].events.append(EventFact(name, writer.read_json(properties), writer.read_time(at)))


def insert_stage_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """New entries, then the stage kept on the events and deliveries they can move."""
    if rows:
        conn.execute(insert(stage_entries), rows)
        restage(BulkWriter(conn), [(row["profile_id"], row["entered_at"]) for row in rows])


def enter_segments(conn: Connection, new: list[dict[str, Any]], back: list[dict[str, Any]]) -> None:
    """Insert first memberships; re-open memberships that had been exited."""
    if new:
        conn.execute(insert(memberships), new)
    if back:
        conn.execute(
            update(memberships)
            .where(
                memberships.c.profile_id == bindparam("pid"),
                memberships.c.segment == bindparam("seg"),
            )
            .values(entered_at=bindparam("at"), exited_at=None, times_entered=bindparam("n")),
            back,
        )


def exit_segments(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(
            update(memberships)
            .where(
                memberships.c.profile_id == bindparam("pid"),
                memberships.c.segment == bindparam("seg"),
            )
            .values(exited_at=bindparam("at")),
            rows,
        )


def set_personas(conn: Connection, personas: dict[int, str | None]) -> None:
    if personas:
        conn.execute(
            update(profiles).where(profiles.c.id == bindparam("pid")),
            [{"pid": pid, "persona": persona} for pid, persona in personas.items()],
        )


def active_profile_ids(conn: Connection, since: datetime, after_id: int, limit: int) -> list[int]:
    """Profiles seen since `since`, in id order, a page at a time."""
    query = (
        select(profiles.c.id)
        .where(profiles.c.last_seen_at >= since, profiles.c.id > after_id)
        .order_by(profiles.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def profile_audience(conn: Connection, profile_id: int) -> tuple[list[Any], list[Any]]:
    """A profile's stage entries and active memberships, for the read API."""
    entries = conn.execute(
        select(stage_entries.c.stage, stage_entries.c.entered_at)
        .where(stage_entries.c.profile_id == profile_id)
        .order_by(stage_entries.c.entered_at, stage_entries.c.id)
    ).all()
    members = conn.execute(
        select(memberships.c.segment, memberships.c.entered_at)
        .where(memberships.c.profile_id == profile_id, memberships.c.exited_at.is_(None))
        .order_by(memberships.c.segment)
    ).all()
    return list(entries), list(members)


def profile_traits(conn: Connection, profile_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The traits of the profiles (erased ones are absent)."""
    query = select(profiles.c.id, profiles.c.traits).where(profiles.c.id.in_(list(profile_ids)))
    return {pid: dict(traits or {}) for pid, traits in conn.execute(query)}


def set_date_reevaluations(
    writer: BulkWriter,
    rows: Collection[tuple[int, str, datetime]],
    gone: Collection[tuple[int, str]] = (),
    *,
    overwrite: bool,
) -> None:
    """Store (profile, trait, due_at) rows and delete the `gone` (profile, trait) ones.

    An identify overwrites (its traits are the newest); the periodic job, which read the
    traits earlier in its transaction, leaves a row an identify wrote meanwhile alone.
    Neither can fail on the primary key when both write one profile at once.
    """
    writer.execute_many(
        "DELETE FROM date_reevaluations WHERE profile_id = {p} AND trait = {p}", list(gone)
    )
    action = "UPDATE SET due_at = excluded.due_at" if overwrite else "NOTHING"
    writer.execute_many(
        "INSERT INTO date_reevaluations (profile_id, trait, due_at) VALUES ({p}, {p}, {p})"
        f" ON CONFLICT (profile_id, trait) DO {action}",
        [(pid, trait, writer.time(due)) for pid, trait, due in rows],
    )


def claim_date_reevaluations(
    writer: BulkWriter, now: datetime, limit: int
) -> list[tuple[int, str]]:
    """Take up to `limit` due (profile, trait) rows out of the table, like timers: deleted in
    the caller's transaction, and on PostgreSQL skipped by other workers while locked."""
    due = "SELECT profile_id, trait FROM date_reevaluations WHERE due_at <= {p} ORDER BY due_at"
    locking = "" if writer.sqlite else " FOR UPDATE SKIP LOCKED"
    sql = (
        f"DELETE FROM date_reevaluations WHERE (profile_id, trait) IN ({due} LIMIT {{p}}"
        f"{locking}) RETURNING profile_id, trait"
    )
    return [(int(pid), str(trait)) for pid, trait in writer.fetch(sql, [writer.time(now), limit])]


def next_date_reevaluation(conn: Connection, after: datetime) -> datetime | None:
    """The earliest re-evaluation due after `after`, for a virtual clock to stop at."""
    due = date_reevaluations.c.due_at
    return conn.execute(select(func.min(due)).where(due > after)).scalar()


def planned_date_conditions(conn: Connection) -> set[str]:
    return set(conn.execute(select(date_plans.c.condition)).scalars())


def plan_date_conditions(
    conn: Connection, added: dict[str, str], removed: Collection[str], now: datetime
) -> None:
    """Make every profile holding one of the `added` conditions' traits (hash -> top-level
    trait key) due for re-evaluation at `now`, and record the conditions as planned."""
    writer = BulkWriter(conn)
    has_key = (
        "EXISTS (SELECT 1 FROM json_each(traits) WHERE key = {p})"
        if writer.sqlite
        else "jsonb_exists(traits, {p})"
    )
    writer.execute_many(
        "INSERT INTO date_reevaluations (profile_id, trait, due_at)"
        f" SELECT id, {{p}}, {{p}} FROM profiles WHERE {has_key}"
        " ON CONFLICT (profile_id, trait) DO UPDATE SET due_at = excluded.due_at",
        [(key, writer.time(now), key) for key in sorted(set(added.values()))],
    )
    writer.execute_many("DELETE FROM date_plans WHERE condition = {p}", [(c,) for c in removed])
    writer.execute_many(
        "INSERT INTO date_plans (condition, planned_at) VALUES ({p}, {p})"
        " ON CONFLICT (condition) DO NOTHING",
        [(condition, writer.time(now)) for condition in added],
    )
