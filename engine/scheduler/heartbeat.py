"""Each running scheduler stamps its row every tick; /readyz reads the newest stamp."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, update

from engine.store.worker_tables import WorkerHeartbeat

heartbeats = WorkerHeartbeat.__table__  # type: ignore[attr-defined]
# Each process start is a new row (host:pid); rows of processes gone this long are deleted.
FORGET_AFTER = timedelta(days=1)


def worker_name() -> str:
    """This process, as operators find it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(engine: Engine, worker: str, now: datetime) -> None:
    """Stamp `worker`'s row (an update, else the first insert: the row is only ours), and
    forget workers silent for a day."""
    with engine.begin() as conn:
        conn.execute(delete(heartbeats).where(heartbeats.c.beat_at < now - FORGET_AFTER))
        stamped = conn.execute(
            update(heartbeats).where(heartbeats.c.worker == worker).values(beat_at=now)
        )
        if stamped.rowcount == 0:
            conn.execute(insert(heartbeats).values(worker=worker, beat_at=now))


def latest_beat(engine: Engine) -> datetime | None:
    """When any worker last beat, or None if none ever did."""
    with engine.connect() as conn:
        found: datetime | None = conn.execute(select(func.max(heartbeats.c.beat_at))).scalar()
    return found
