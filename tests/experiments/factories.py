"""Rows for experiment tests, written straight to the store (no ingestion, no flows)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from engine.store.bulk import BulkWriter
from engine.store.events import insert_events
from engine.store.tables import Identity, Profile, StageEntry

T0 = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
_MESSAGE_IDS = itertools.count()


def create_profile(
    conn: Connection,
    profile_id: int,
    *,
    user_id: str | None = None,
    persona: str | None = None,
    at: datetime = T0,
) -> int:
    """A profile (and its user identity, so the read API finds it by user id)."""
    conn.execute(
        insert(Profile.__table__).values(  # type: ignore[attr-defined]
            id=profile_id,
            user_id=user_id,
            traits={},
            first_seen_at=at,
            last_seen_at=at,
            created_at=at,
            updated_at=at,
            persona=persona,
        )
    )
    if user_id is not None:
        conn.execute(
            insert(Identity.__table__).values(  # type: ignore[attr-defined]
                kind="user", value=user_id, profile_id=profile_id
            )
        )
    return profile_id


def enter_stage(conn: Connection, profile_id: int, stage: str, at: datetime) -> None:
    conn.execute(
        insert(StageEntry.__table__).values(  # type: ignore[attr-defined]
            profile_id=profile_id, stage=stage, entered_at=at
        )
    )


def add_events(conn: Connection, rows: list[tuple[int, str, str, datetime]]) -> None:
    """(profile_id, type, name, timestamp) rows, with unique message ids."""
    writer = BulkWriter(conn)
    encoded: list[tuple[Any, ...]] = []
    for profile_id, type_, name, at in rows:
        encoded.append(
            (
                f"test:{next(_MESSAGE_IDS)}",
                profile_id,
                type_,
                name,
                None,
                None,
                writer.json({}),
                writer.json({}),
                writer.time(at),
                writer.time(at),
                None,
                writer.time(at),
            )
        )
    insert_events(writer, encoded)
