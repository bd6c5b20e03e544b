"""Every SQL statement of the profile read/erase API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, select

from engine.audience.repository import memberships, stage_entries
from engine.experiments.outcomes import retract
from engine.ingest.repository import dead_letters, events, identities, profiles
from engine.store.recount import forget_profiles


def find_profile_id(
    conn: Connection, user_id: str, kinds: tuple[str, ...] = ("user", "anonymous")
) -> int | None:
    """A user id (or, failing that, an anonymous id) to its profile."""
    for kind in kinds:
        pid = conn.execute(
            select(identities.c.profile_id).where(
                identities.c.kind == kind, identities.c.value == user_id
            )
        ).scalar()
        if pid is not None:
            return int(pid)
    return None


def get_profile(conn: Connection, profile_id: int) -> RowMapping:
    return conn.execute(select(profiles).where(profiles.c.id == profile_id)).mappings().one()


def anonymous_ids(conn: Connection, profile_id: int) -> list[str]:
    query = (
        select(identities.c.value)
        .where(identities.c.profile_id == profile_id, identities.c.kind == "anonymous")
        .order_by(identities.c.id)
    )
    return list(conn.execute(query).scalars())


def event_counts(conn: Connection, profile_id: int) -> list[tuple[str, str | None, int]]:
    query = (
        select(events.c.type, events.c.name, func.count())
        .where(events.c.profile_id == profile_id)
        .group_by(events.c.type, events.c.name)
    )
    return [(t, n, int(c)) for t, n, c in conn.execute(query)]


def page_events(
    conn: Connection, profile_id: int, limit: int, before: int | None
) -> list[RowMapping]:
    query = select(events).where(events.c.profile_id == profile_id)
    if before is not None:
        query = query.where(events.c.id < before)
    return list(conn.execute(query.order_by(events.c.id.desc()).limit(limit)).mappings())


def erase_profile(conn: Connection, profile_id: int) -> dict[str, int]:
    retract(conn, [profile_id])  # out of the experiments' folded sums before its rows go
    counts: dict[str, int] = {}
    forget_profiles(conn, [profile_id])  # its runs go with the profile (ON DELETE CASCADE)
    owned = (
        ("events", events),
        ("identities", identities),
        ("stage_entries", stage_entries),
        ("segment_memberships", memberships),
    )
    for name, table in owned:
        result = conn.execute(delete(table).where(table.c.profile_id == profile_id))
        counts[name] = result.rowcount
    counts["profiles"] = conn.execute(delete(profiles).where(profiles.c.id == profile_id)).rowcount
    return counts


def page_dead_letters(conn: Connection, limit: int, before: int | None) -> list[Any]:
    query = select(dead_letters)
    if before is not None:
        query = query.where(dead_letters.c.id < before)
    return list(conn.execute(query.order_by(dead_letters.c.id.desc()).limit(limit)).mappings())
