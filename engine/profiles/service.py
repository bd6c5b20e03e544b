"""Profile views and erasure, by the SaaS app's user id."""

from __future__ import annotations

from sqlalchemy import Connection

from engine.audience import repository as audience_repo
from engine.errors import BadRequest, NotFound
from engine.profiles import repository as repo
from engine.profiles.schemas import (
    DeadLetterPage,
    DeadLetterPublic,
    Erasure,
    EventCounts,
    EventPage,
    EventPublic,
    ProfilePublic,
    SegmentMembershipPublic,
)
from engine.store.ids import parse_id


def _profile_id(conn: Connection, user_id: str) -> int:
    pid = repo.find_profile_id(conn, user_id)
    if pid is None:
        raise NotFound(f"no profile for user id {user_id!r}")
    return pid


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    cursor = parse_id(value)
    if cursor is None:
        raise BadRequest("cursor must be a next_cursor value from a previous page")
    return cursor


def get_profile(conn: Connection, user_id: str) -> ProfilePublic:
    pid = _profile_id(conn, user_id)
    row = repo.get_profile(conn, pid)
    by_type: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for type_, name, count in repo.event_counts(conn, pid):
        by_type[type_] = by_type.get(type_, 0) + count
        if type_ == "track" and name is not None:
            by_name[name] = count
    entries, members = audience_repo.profile_audience(conn, pid)
    return ProfilePublic(
        persona=row["persona"],
        stages={stage: at for stage, at in entries},
        segments=[SegmentMembershipPublic(segment=s, entered_at=at) for s, at in members],
        user_id=row["user_id"],
        anonymous_ids=repo.anonymous_ids(conn, pid),
        traits=row["traits"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        event_counts=EventCounts(total=sum(by_type.values()), by_type=by_type, by_name=by_name),
    )


def list_events(conn: Connection, user_id: str, limit: int, cursor: str | None) -> EventPage:
    """Newest first; `next_cursor` continues where this page ended."""
    before = _cursor(cursor)  # a malformed cursor is refused whether or not the user exists
    rows = repo.page_events(conn, _profile_id(conn, user_id), limit, before)
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return EventPage(
        data=[EventPublic.model_validate(dict(r)) for r in rows], next_cursor=next_cursor
    )


def erase_profile(conn: Connection, user_id: str) -> tuple[Erasure, list[int]]:
    """Delete the profile's rows; also the ids of its email deliveries, whose outbox files
    the caller removes once this transaction has committed (engine.profiles.erasure)."""
    pid = _profile_id(conn, user_id)
    emails = repo.email_deliveries(conn, pid)
    return Erasure(user_id=user_id, deleted=repo.erase_profile(conn, pid)), emails


def list_dead_letters(conn: Connection, limit: int, cursor: str | None) -> DeadLetterPage:
    rows = repo.page_dead_letters(conn, limit, _cursor(cursor))
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return DeadLetterPage(
        data=[DeadLetterPublic.model_validate(dict(r)) for r in rows], next_cursor=next_cursor
    )
