"""Every SQL statement of the profile read/erase API."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, Text, cast, delete, func, or_, select

from engine.audience.repository import memberships, stage_entries
from engine.experiments.outcomes import retract
from engine.flows.repository import deliveries
from engine.ingest.repository import dead_letters, events, identities, profiles
from engine.profiles.traces import names_person
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
    """Delete every row about the profile, its dead letters included; the counts by table."""
    retract(conn, [profile_id])  # out of the experiments' folded sums before its rows go
    counts = {"dead_letters": _erase_dead_letters(conn, profile_id)}
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


def email_deliveries(conn: Connection, profile_id: int) -> list[int]:
    """The ids of the profile's email deliveries: the outbox names its files after them."""
    query = select(deliveries.c.id).where(
        deliveries.c.profile_id == profile_id, deliveries.c.channel == "email"
    )
    return [int(i) for i in conn.execute(query).scalars()]


def _erase_dead_letters(conn: Connection, profile_id: int) -> int:
    """Dead letters naming any id or email address of the profile. A text search narrows
    the candidates in SQL (a superset: JSON escapes aside, a value's text is in the row's
    text), then `names_person` decides on each."""
    owned = select(identities.c.value).where(identities.c.profile_id == profile_id)
    ids = [str(v) for v in conn.execute(owned).scalars()]
    traits = conn.execute(select(profiles.c.traits).where(profiles.c.id == profile_id)).scalar()
    email = (traits or {}).get("email")
    emails = [email] if isinstance(email, str) and email else []
    needles = {form for v in [*ids, *emails] for form in (v, orjson.dumps(v).decode()[1:-1])}
    if not needles:
        return 0
    text = func.coalesce(cast(dead_letters.c.payload, Text), "") + func.coalesce(
        dead_letters.c.raw, ""
    )
    candidates = conn.execute(
        select(dead_letters.c.id, dead_letters.c.payload, dead_letters.c.raw).where(
            or_(*(text.icontains(n, autoescape=True) for n in needles))
        )
    )
    doomed = [r.id for r in candidates if names_person(r.payload, r.raw, ids, emails)]
    for chunk in range(0, len(doomed), 500):
        batch = doomed[chunk : chunk + 500]
        conn.execute(delete(dead_letters).where(dead_letters.c.id.in_(batch)))
    return len(doomed)
