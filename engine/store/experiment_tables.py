"""Experiment assignments: each profile's sticky variant, stored at its first exposure.

The key is (experiment, profile_id), clustered (WITHOUT ROWID on SQLite): an experiment's rows
are contiguous and in profile order, so results scan one range and their joins to stage
entries and events probe profiles in order. `persona` is the profile's primary persona at
exposure, so per-persona results split profiles by something the variant cannot have changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from engine.store.base import UTCDateTime


def _profile_key() -> Any:
    return Field(
        sa_column=Column(Integer, ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    )


class ExperimentAssignment(SQLModel, table=True):
    """A profile's variant in one experiment; never updated once written (sticky)."""

    __tablename__ = "experiment_assignments"
    # (experiment, exposed_at): the exposures a fold or a results tail reads, by time.
    # (profile_id): the experiments of a profile being merged or erased (and the cascade
    # of a deleted profile), which would otherwise scan every exposure.
    __table_args__ = (
        Index(None, "experiment", "exposed_at"),
        Index(None, "profile_id"),
        {"sqlite_with_rowid": False},
    )

    experiment: str = Field(primary_key=True, max_length=64)
    profile_id: int = _profile_key()
    variant: str = Field(max_length=64)
    bucket: int  # the hash bucket in [0, 10000) that chose the variant, for audits
    persona: str | None = Field(default=None, max_length=64)
    exposed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ExperimentOutcome(SQLModel, table=True):
    """A profile's final value of one metric, folded once the metric's window has closed.

    Only non-zero values are stored (a profile without a row scored 0). `metric` is the
    metric definition's key (engine.experiments.outcomes.metric_key): a changed definition
    is a new key, folded afresh. Variant, persona and exposure are copied from the
    assignment so results read this table alone.
    """

    __tablename__ = "experiment_outcomes"
    __table_args__ = {"sqlite_with_rowid": False}

    experiment: str = Field(primary_key=True, max_length=64)
    metric: str = Field(primary_key=True, max_length=32)
    profile_id: int = _profile_key()
    variant: str = Field(max_length=64)
    persona: str | None = Field(default=None, max_length=64)
    exposed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    value: float


class ExperimentRollup(SQLModel, table=True):
    """The folded profiles of one metric, summed per (variant, persona at exposure): what
    results read instead of the profiles. Metric `exposures` counts every folded exposure.

    `persona` is '' for profiles without one (a key column cannot be NULL). First and last
    exposure are kept as folded; they are not moved when a profile is erased.
    """

    __tablename__ = "experiment_rollups"

    experiment: str = Field(primary_key=True, max_length=64)
    metric: str = Field(primary_key=True, max_length=32)
    variant: str = Field(primary_key=True, max_length=64)
    persona: str = Field(primary_key=True, max_length=64)
    users: int
    total: float
    squares: float
    first_exposed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_exposed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ExperimentFold(SQLModel, table=True):
    """How far a metric is folded: every profile exposed at or before `folded_until`."""

    __tablename__ = "experiment_folds"

    experiment: str = Field(primary_key=True, max_length=64)
    metric: str = Field(primary_key=True, max_length=32)
    folded_until: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ExperimentRefold(SQLModel, table=True):
    """A profile whose folded value of a metric was retracted (its profile merged with
    another): results compute it live until the next fold of that metric stores it again."""

    __tablename__ = "experiment_refolds"
    __table_args__ = {"sqlite_with_rowid": False}

    experiment: str = Field(primary_key=True, max_length=64)
    metric: str = Field(primary_key=True, max_length=32)
    profile_id: int = _profile_key()


class ExperimentMixedExposure(SQLModel, table=True):
    """A profile that saw two variants of one experiment: two exposed profiles, in different
    variants, merged into it (an identity resolved late). It keeps its own assignment
    (engine.experiments.health); the row is the health check's count and the audit trail."""

    __tablename__ = "experiment_mixed_exposures"
    __table_args__ = {"sqlite_with_rowid": False}

    experiment: str = Field(primary_key=True, max_length=64)
    profile_id: int = _profile_key()
    variant: str = Field(max_length=64)  # the assignment kept
    other_variant: str = Field(max_length=64)  # the merged profile's, dropped with it
