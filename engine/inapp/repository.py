"""Every SQL statement of the in-app API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, case, or_, select, update

from engine.flows.repository import inapp_items


def pending_items(conn: Connection, profile_id: int, now: datetime) -> list[RowMapping]:
    query = (
        select(inapp_items)
        .where(
            inapp_items.c.profile_id == profile_id,
            inapp_items.c.status.in_(("pending", "seen")),
            or_(inapp_items.c.expires_at.is_(None), inapp_items.c.expires_at > now),
        )
        .order_by(inapp_items.c.priority.desc(), inapp_items.c.id)
    )
    return list(conn.execute(query).mappings())


def get_item(conn: Connection, profile_id: int, item_id: int) -> RowMapping | None:
    query = select(inapp_items).where(
        inapp_items.c.id == item_id, inapp_items.c.profile_id == profile_id
    )
    return conn.execute(query).mappings().first()


def item_named(conn: Connection, profile_id: int, name: str) -> RowMapping | None:
    """The profile's item of that name: the newest still waiting, else the newest."""
    waiting = case((inapp_items.c.status.in_(("pending", "seen")), 1), else_=0)
    query = (
        select(inapp_items)
        .where(inapp_items.c.profile_id == profile_id, inapp_items.c.name == name)
        .order_by(waiting.desc(), inapp_items.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).mappings().first()


def set_status(conn: Connection, item_id: int, status: str, now: datetime) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": now}
    conn.execute(update(inapp_items).where(inapp_items.c.id == item_id).values(**values))
