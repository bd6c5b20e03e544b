"""What erasure does after its transaction: the copies of a person outside the tables.

- The outbox's `.eml` files of the profile's emails (named after their delivery ids).
- On SQLite, the write-ahead log: it holds the deleted pages' old content until a
  checkpoint, so the erasure truncates it at once. Freed pages are zeroed as they are freed
  (`secure_delete`, engine.store.db), so the database file keeps no copy either.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from engine.store.db import checkpoint


def remove_traces(engine: Engine, outbox: Path, email_deliveries: list[int]) -> int:
    """Delete the outbox files and checkpoint the WAL; the number of files removed."""
    removed = 0
    for delivery_id in email_deliveries:
        path = outbox / f"{delivery_id}.eml"
        if path.exists():
            path.unlink()
            removed += 1
    checkpoint(engine)
    return removed
