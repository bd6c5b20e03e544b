"""The one statement that writes events, shared by ingestion and internal events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.store.bulk import BulkWriter, marks
from engine.store.stages import STAGE_AT

EVENT_COLUMNS = (
    "message_id, profile_id, type, name, user_id, anonymous_id, properties, context,"
    " timestamp, original_timestamp, sent_at, received_at"
)
PROFILE, TIMESTAMP = 1, 8  # positions in EVENT_COLUMNS


def insert_events(writer: BulkWriter, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in EVENT_COLUMNS order, already encoded by `writer`; each event is stored with
    the stage its profile was in at its timestamp (`engine.store.stages`)."""
    sql = f"INSERT INTO events ({EVENT_COLUMNS}, stage) VALUES ({marks(12)}, {STAGE_AT})"
    writer.execute_many(sql, [(*row, row[PROFILE], row[TIMESTAMP]) for row in rows])
