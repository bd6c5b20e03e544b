"""A profile's journey: every flow run, each step's outcome and reason, deliveries, timers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from engine.flows import repository as repo

STEP_FIELDS = ("at", "step", "kind", "outcome", "detail")
DELIVERY_FIELDS = (
    "id",
    "step",
    "channel",
    "content",
    "status",
    "reason",
    "attempts",
    "next_attempt_at",
    "sent_at",
)
RUN_FIELDS = (
    "id",
    "flow",
    "status",
    "variant",
    "entered_at",
    "ended_at",
    "end_reason",
    "converted_at",
)


def journey(conn: Connection, profile_id: int) -> list[dict[str, Any]]:
    runs, entries, deliveries, timers = repo.journey_of(conn, profile_id)
    return [
        _pick(run, RUN_FIELDS)
        | {
            "steps": [_pick(e, STEP_FIELDS) for e in entries if e["run_id"] == run["id"]],
            "deliveries": [
                _pick(d, DELIVERY_FIELDS) for d in deliveries if d["run_id"] == run["id"]
            ],
            "timers": [_pick(t, ("step", "due_at")) for t in timers if t["run_id"] == run["id"]],
        }
        for run in runs
    ]


def _pick(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: row[name] for name in names}
