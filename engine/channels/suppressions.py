"""Suppressed addresses: every SQL statement about them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.store.runtime_tables import Suppression

suppressions = Suppression.__table__  # type: ignore[attr-defined]


def is_suppressed(conn: Connection, address_hash: str) -> bool:
    query = select(suppressions.c.email_hash).where(suppressions.c.email_hash == address_hash)
    return conn.execute(query).first() is not None


def suppress(conn: Connection, address_hash: str, reason: str, now: datetime) -> None:
    """Idempotent: suppressing twice keeps the first reason and time."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(suppressions).on_conflict_do_nothing(index_elements=["email_hash"])
    conn.execute(stmt, {"email_hash": address_hash, "reason": reason, "created_at": now})
