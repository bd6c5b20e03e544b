"""Keep `step_counts` and `delivery_counts` equal to the rows they count.

Every write path that adds journey entries, settles a delivery, converts a run or deletes a
profile's runs adds the matching increments here, in its own transaction, with one upsert
per table (`n = n + excluded.n`, so concurrent workers on PostgreSQL never lose one).
Increments are summed per key in Python first and upserted in key order, which keeps one
statement free of duplicate keys and concurrent statements from deadlocking.

A journey entry counts as converted if its run has converted (`converted_at`: its goal
held within the window, while the run was open or after it ended). Runs convert once, in
the runtime's flush, which credits the run's earlier entries there (`Counts.conversions`);
the dispatcher adds entries to runs that may be converting at that moment, so it reads
their conversion with a share lock (`run_states`), which orders it with the conversion on
PostgreSQL.

`engine.store.recount` computes the same counts from the raw rows, for backfills and
before a profile's runs are deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from engine.store.recount import (
    SETTLED,
    Key,
    add,
    delivery_counts,
    journey,
    runs,
    step_counts,
    step_keys,
)


def day_of(at: datetime) -> date:
    """The UTC day of a timestamp: the `day` key of both tables."""
    return at.astimezone(UTC).date()


def _reason(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class Counts:
    """Increments gathered over one batch: key -> [entries, converted] and key -> n."""

    steps: defaultdict[Key, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    settled: defaultdict[Key, int] = field(default_factory=lambda: defaultdict(int))

    def journey(self, rows: Iterable[Mapping[str, Any]], runs: Mapping[int, Any]) -> None:
        """Step-level journey entries; converted when their run has converted."""
        for row in rows:
            if row["step"] is None:
                continue
            run = runs[row["run_id"]]
            detail = row["detail"] or {}
            key = (run["flow"], day_of(run["entered_at"]), row["step"], row["kind"])
            counts = self.steps[(*key, row["outcome"], _reason(detail.get("reason")))]
            counts[0] += 1
            counts[1] += run.get("converted_at") is not None

    def deliveries(self, rows: Iterable[Mapping[str, Any]], runs: Mapping[int, Any]) -> None:
        """Deliveries whose status is settled (others are counted when they settle)."""
        for row in rows:
            if row["status"] in SETTLED:
                day = day_of(runs[row["run_id"]]["entered_at"])
                key = (row["flow"], day, row["step"], row["channel"], row["content"])
                self.settled[(*key, row["status"], _reason(row["reason"]))] += 1

    def conversions(self, conn: Connection, run_ids: Collection[int]) -> None:
        """Credit the stored entries of runs converting now (call before this batch's
        entries are written: those are counted by `journey`)."""
        if not run_ids:
            return
        keys = step_keys()
        query = (
            select(*keys, func.count())
            .select_from(journey.join(runs, runs.c.id == journey.c.run_id))
            .where(journey.c.run_id.in_(sorted(run_ids)), journey.c.step.is_not(None))
            .group_by(*keys)
        )
        for *key, n in conn.execute(query):
            self.steps[tuple(key)][1] += int(n)

    def write(self, conn: Connection) -> None:
        steps = {key: tuple(values) for key, values in self.steps.items()}
        add(conn, step_counts, steps)
        add(conn, delivery_counts, {key: (n,) for key, n in self.settled.items()})
        self.steps.clear()
        self.settled.clear()


def run_states(conn: Connection, run_ids: Collection[int]) -> dict[int, Any]:
    """Flow, entry time and conversion of runs, share-locked on PostgreSQL until commit."""
    query = (
        select(runs.c.id, runs.c.flow, runs.c.entered_at, runs.c.converted_at)
        .where(runs.c.id.in_(sorted(run_ids)))
        .order_by(runs.c.id)
        .with_for_update(read=True)
    )
    return {row.id: row._mapping for row in conn.execute(query)} if run_ids else {}
