"""Counters the runtime keeps as it writes, so the flow page sums a few rows per day.

Grouping a flow's 600,000 journey entries by step costs a sort on SQLite (0.5 s); summing
the same counts from these tables costs milliseconds. A row counts what happened to the
runs of one flow that *entered* on `day` (UTC), the way the flow page filters its period.
Counts are written in the transaction of the rows they count (`engine.flows.counters`),
so they can never disagree with them; `reason` is "" when there is none (a key column).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class StepCount(SQLModel, table=True):
    """Step-level journey entries per (flow, run entry day, step, kind, outcome, reason):
    how many, and how many belong to runs that have converted."""

    __tablename__ = "step_counts"

    flow: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    step: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=32)
    outcome: str = Field(primary_key=True, max_length=64)
    reason: str = Field(primary_key=True)
    entries: int
    converted: int


class DeliveryCount(SQLModel, table=True):
    """Settled deliveries (sent, failed, skipped: they never change again) per (flow, run
    entry day, step, channel, content, status, reason). Deliveries in flight are few and
    indexed by status, so the flow page reads them live."""

    __tablename__ = "delivery_counts"

    flow: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    step: str = Field(primary_key=True, max_length=200)
    channel: str = Field(primary_key=True, max_length=16)
    content: str = Field(primary_key=True, max_length=64)
    status: str = Field(primary_key=True, max_length=16)
    reason: str = Field(primary_key=True)
    deliveries: int
