"""The workers' heartbeats: one row per running scheduler (a `worker`, or `serve`'s embedded
one), stamped every tick, so /readyz can tell that someone is running the periodic jobs."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.store.base import UTCDateTime


class WorkerHeartbeat(SQLModel, table=True):
    __tablename__ = "worker_heartbeats"

    worker: str = Field(primary_key=True, max_length=255)  # host:pid
    beat_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
