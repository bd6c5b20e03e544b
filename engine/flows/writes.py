"""The rows one batch of run processing writes, gathered so each table gets one statement.

Deciding what a run does is pure and fast; writing each decision with its own statement
is what made a tick slow (about 9 statements per run). Runs record their writes here, and
`flush` sends them as a handful of executemany statements at the end of the batch, with
the counters of the flow page (`engine.flows.counters`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.flows import repository as repo
from engine.flows.counters import Counts
from engine.store.bulk import BulkWriter


@dataclass
class PlannedDelivery:
    """A delivery decided in this batch: its row, its in-app item, and its journey entry."""

    row: dict[str, Any]
    item: dict[str, Any] | None
    journey: dict[str, Any]

    def skip(self, reason: str) -> None:
        """Not delivered after all (a guardrail): nothing is shown and the journey says why."""
        self.row |= {"status": "skipped", "reason": reason, "attempts": 0}
        self.row |= {"sent_at": None, "next_attempt_at": None}
        self.item = None
        self.journey["outcome"] = "skipped"
        self.journey["detail"] = {**self.journey["detail"], "reason": reason}


@dataclass
class RunWrites:
    run_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    timers: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    timer_drops: set[int] = field(default_factory=set)
    deliveries: list[PlannedDelivery] = field(default_factory=list)
    journey: list[dict[str, Any]] = field(default_factory=list)

    def update_run(self, run_id: int, values: dict[str, Any]) -> None:
        self.run_updates[run_id] = self.run_updates.get(run_id, {}) | values

    def set_timer(self, run_id: int, step: str, due_at: datetime) -> None:
        """A run waits on at most one timer: a new one replaces any other."""
        self.timer_drops.add(run_id)
        self.timers[run_id] = (step, due_at)

    def drop_timers(self, run_id: int) -> None:
        self.timer_drops.add(run_id)
        self.timers.pop(run_id, None)

    def merge(self, other: RunWrites) -> None:
        """Add `other`'s writes, as if they had been recorded here after ours."""
        for run_id, values in other.run_updates.items():
            self.update_run(run_id, values)
        for run_id in other.timer_drops:
            self.drop_timers(run_id)
        for run_id, (step, due_at) in other.timers.items():
            self.set_timer(run_id, step, due_at)
        self.deliveries += other.deliveries
        self.journey += other.journey

    def flush(self, conn: Connection, runs: Mapping[int, Mapping[str, Any]]) -> None:
        """Write everything; `runs` holds every run written to, in its state after the batch."""
        writer = BulkWriter(conn)
        counts = Counts()
        repo.update_runs(writer, self.run_updates)  # locks the runs before `conversions`
        counts.conversions(conn, self._converting())
        repo.drop_timers_of(writer, self.timer_drops)
        repo.add_timers(writer, [(run, step, due) for run, (step, due) in self.timers.items()])
        repo.add_deliveries(writer, [(d.row, d.item) for d in self.deliveries])
        repo.add_journey(writer, self.journey)
        counts.journey(self.journey, runs)
        counts.deliveries((d.row for d in self.deliveries), runs)
        counts.write(conn)
        self.run_updates, self.timers, self.timer_drops = {}, {}, set()
        self.deliveries, self.journey = [], []

    def _converting(self) -> list[int]:
        return [
            run
            for run, values in self.run_updates.items()
            if values.get("converted_at") is not None
        ]
