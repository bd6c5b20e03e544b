"""The tables of the foundation: profiles, their identities, events and dead letters.

A profile is one end user. `identities` maps every id the SaaS app uses for that user
(`user` ids, `anonymous` ids, aliased previous ids) to the profile, so anonymous activity
before identify and alias calls resolve to the same profile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.store.base import BigId, JSONDoc, TimestampMixin, UTCDateTime


class Profile(TimestampMixin, table=True):
    __tablename__ = "profiles"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str | None = Field(default=None, max_length=255, unique=True)
    traits: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc, nullable=False)
    first_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Highest-priority matching segment, kept with the memberships for per-persona queries.
    persona: str | None = Field(default=None, max_length=64, index=True)


class Identity(SQLModel, table=True):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # "user" | "anonymous"
    value: str = Field(max_length=255)
    profile_id: int = Field(
        sa_column=Column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True)
    )


class Event(SQLModel, table=True):
    __tablename__ = "events"
    # No index covering the journey map's actions: it cost a quarter of ingestion throughput
    # for 10% of one dashboard computation (benchmarks/RESULTS.md, dashboard, session 3).
    __table_args__ = (Index(None, "profile_id", "id"),)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    message_id: str = Field(max_length=255, unique=True)
    profile_id: int = Field(
        sa_column=Column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    )
    type: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=255)
    user_id: str | None = Field(default=None, max_length=255)
    anonymous_id: str | None = Field(default=None, max_length=255)
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc, nullable=False)
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc, nullable=False)
    timestamp: datetime = Field(sa_type=UTCDateTime, nullable=False)
    original_timestamp: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The profile's stage at `timestamp` (engine.store.stages keeps it).
    stage: str | None = Field(default=None, max_length=64)


class DeadLetter(SQLModel, table=True):
    """An input that could not be stored as an event, kept whole with the reasons why."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    source: str = Field(max_length=64)  # fingerprint of the write key, never the key itself
    endpoint: str = Field(max_length=32)
    item_index: int | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc, nullable=False)
    payload: Any = Field(default=None, sa_type=JSONDoc, nullable=True)
    raw: str | None = None


class StageEntry(SQLModel, table=True):
    """A profile reached an onboarding stage: once, with the time it first held."""

    __tablename__ = "stage_entries"
    __table_args__ = (
        UniqueConstraint("profile_id", "stage"),
        Index(None, "stage", "entered_at", "profile_id"),  # populations by anchor and period
        Index(None, "profile_id", "entered_at", "stage"),  # the stage at a time, one seek
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(
        sa_column=Column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    )
    stage: str = Field(max_length=64)
    entered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SegmentMembership(SQLModel, table=True):
    """A profile's membership of a persona segment; `exited_at` is set while it is out.

    `times_entered` numbers the entries, so each entry and exit event has its own messageId
    even when several happen at one instant (a trait toggled by calls sharing a timestamp).
    """

    __tablename__ = "segment_memberships"
    __table_args__ = (UniqueConstraint("profile_id", "segment"), Index(None, "segment"))

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(
        sa_column=Column(ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False)
    )
    segment: str = Field(max_length=64)
    entered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    exited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    times_entered: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class DateReevaluation(SQLModel, table=True):
    """When a profile's date conditions on one trait next flip, so the periodic job
    re-evaluates exactly then, however long ago the profile was last active. Written when
    an identify sets the trait (or the profile's timezone), moved when it comes due."""

    __tablename__ = "date_reevaluations"
    __table_args__ = (Index(None, "due_at"),)

    profile_id: int = Field(
        sa_column=Column(
            ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    trait: str = Field(max_length=255, primary_key=True)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class DatePlan(SQLModel, table=True):
    """A date condition of the content whose moments every profile already has (by a hash
    of its trait, operator and offset): one added later is planned for existing profiles
    once, by the periodic job, instead of waiting for each profile's next identify."""

    __tablename__ = "date_plans"

    condition: str = Field(max_length=64, primary_key=True)
    planned_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
