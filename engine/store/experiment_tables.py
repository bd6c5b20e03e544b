"""Experiment assignments: each profile's sticky variant, stored at its first exposure.

The key is (experiment, profile_id), clustered (WITHOUT ROWID on SQLite): an experiment's rows
are contiguous and in profile order, so results scan one range and their joins to stage
entries and events probe profiles in order. `persona` is the profile's primary persona at
exposure, so per-persona results split profiles by something the variant cannot have changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from engine.store.base import UTCDateTime


class ExperimentAssignment(SQLModel, table=True):
    """A profile's variant in one experiment; never updated once written (sticky)."""

    __tablename__ = "experiment_assignments"
    __table_args__ = {"sqlite_with_rowid": False}

    experiment: str = Field(primary_key=True, max_length=64)
    profile_id: int = Field(
        sa_column=Column(Integer, ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    )
    variant: str = Field(max_length=64)
    bucket: int  # the hash bucket in [0, 10000) that chose the variant, for audits
    persona: str | None = Field(default=None, max_length=64)
    exposed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
