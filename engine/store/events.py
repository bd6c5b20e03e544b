"""The one statement that writes events, shared by ingestion and internal events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.store.bulk import BulkWriter

EVENT_COLUMNS = (
    "message_id, profile_id, type, name, user_id, anonymous_id, properties, context,"
    " timestamp, original_timestamp, sent_at, received_at"
)


def insert_events(writer: BulkWriter, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in EVENT_COLUMNS order, already encoded by `writer`."""
    values = ", ".join(["{p}"] * 12)
    writer.execute_many(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({values})", rows)
