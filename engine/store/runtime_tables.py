"""Tables of the flow runtime: versions, runs, timers, deliveries, journey, in-app items.

A flow run points at the exact flow version it started with (`flow_versions`), so editing a
flow never changes what a running profile executes. Timers are rows (`due_at`), claimed in
batches and deleted when executed. A delivery is unique per (run, step): the outbox that makes
"deliver once" hold across crashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.store.base import NEVER_REUSED, BigId, JSONDoc, UTCDateTime


def _profile_fk() -> Any:
    return Field(sa_column=Column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False))


def _run_fk(nullable: bool = False) -> Any:
    return Field(
        sa_column=Column(ForeignKey("flow_runs.id", ondelete="CASCADE"), nullable=nullable)
    )


class FlowVersion(SQLModel, table=True):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(max_length=64)
    version: str = Field(max_length=64)  # sha256 of the flow document
    definition: dict[str, Any] = Field(sa_type=JSONDoc, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class FlowRun(SQLModel, table=True):
    """One profile's progress through one flow version."""

    __tablename__ = "flow_runs"
    __table_args__ = (
        Index(None, "profile_id", "flow"),
        Index(None, "profile_id", "wait_target"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    flow: str = Field(max_length=64)
    version_id: int = Field(sa_column=Column(ForeignKey("flow_versions.id"), nullable=False))
    profile_id: int = _profile_fk()
    # active | waiting | completed | converted | exited | skipped | failed
    status: str = Field(max_length=16)
    variant: str | None = Field(default=None, max_length=64)
    state: dict[str, Any] = Field(sa_type=JSONDoc, nullable=False)
    wait_target: str | None = Field(default=None, max_length=200)
    entered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=500)
    # The run's conversion: its goal held within the goal window, while its steps ran (the
    # run then ended `converted`) or after they ended.
    converted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when a run ends before its goal window closes: until then the goal can still
    # convert it (engine.flows.service.RunContext.check_goal).
    goal_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Timer(SQLModel, table=True):
    """A run parked until `due_at`; the row is deleted when the tick executes it."""

    __tablename__ = "timers"
    __table_args__ = (Index(None, "due_at"), Index(None, "run_id"))

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    run_id: int = _run_fk()
    step: str = Field(max_length=200)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Delivery(SQLModel, table=True):
    """pending -> sending -> sent | retrying (failed, retryable) | failed | skipped."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "step"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "profile_id", "channel", "sent_at"),  # the frequency cap's count
        # Covers the journey map's touchpoints: a population's deliveries of a period.
        Index(
            "ix_deliveries_journey",
            "profile_id",
            "created_at",
            "flow",
            "stage",
            "channel",
            "content",
            "status",
        ),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    run_id: int = _run_fk()
    profile_id: int = _profile_fk()
    flow: str = Field(max_length=64)
    step: str = Field(max_length=200)
    channel: str = Field(max_length=16)
    content: str = Field(max_length=64)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The profile's stage when the delivery was created (engine.store.stages keeps it).
    stage: str | None = Field(default=None, max_length=64)


class JourneyEntry(SQLModel, table=True):
    """What happened at one step of one run, and why: the journey log."""

    __tablename__ = "journey_entries"
    __table_args__ = (Index(None, "run_id", "id"),)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    run_id: int = _run_fk()
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    step: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=32)
    outcome: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc, nullable=False)


class InAppItem(SQLModel, table=True):
    """A tutorial or tip waiting in a profile's app, until completed, dismissed or expired."""

    __tablename__ = "inapp_items"
    __table_args__ = (Index(None, "profile_id", "status"), NEVER_REUSED)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    profile_id: int = _profile_fk()
    delivery_id: int = Field(
        sa_column=Column(
            ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    kind: str = Field(max_length=16)  # tutorial | tip
    name: str = Field(max_length=64)
    priority: int = 0
    content: dict[str, Any] = Field(sa_type=JSONDoc, nullable=False)
    status: str = Field(max_length=16)  # pending | seen | completed | dismissed
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ScheduleFire(SQLModel, table=True):
    """The last cron occurrence a scheduled flow fired for, so each fires once."""

    __tablename__ = "schedule_fires"

    flow: str = Field(primary_key=True, max_length=64)
    fired_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Suppression(SQLModel, table=True):
    """An address that must get no more email, kept as a hash so it outlives erasure."""

    __tablename__ = "suppressions"

    email_hash: str = Field(primary_key=True, max_length=64)
    reason: str = Field(max_length=32)  # unsubscribe | bounce | manual
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
