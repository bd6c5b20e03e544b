"""`GET /v1/profiles/{user_id}/journey`: why a user did or did not get each message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from engine.api.deps import AdminKey, ConnectionDep
from engine.flows import repository as repo
from engine.inapp.service import profile_id_of

router = APIRouter(prefix="/v1/profiles", tags=["journey"], dependencies=[AdminKey])


@router.get("/{user_id}/journey")
def get_journey(user_id: str, conn: ConnectionDep) -> dict[str, Any]:
    """Every flow run of the profile with each step's outcome, deliveries and pending timers."""
    runs, entries, deliveries, timers = repo.journey_of(conn, profile_id_of(conn, user_id))
    return {
        "user_id": user_id,
        "runs": [
            {
                "id": run["id"],
                "flow": run["flow"],
                "status": run["status"],
                "variant": run["variant"],
                "entered_at": run["entered_at"],
                "ended_at": run["ended_at"],
                "end_reason": run["end_reason"],
                "steps": [
                    _plain(e, "at", "step", "kind", "outcome", "detail")
                    for e in entries
                    if e["run_id"] == run["id"]
                ],
                "deliveries": [
                    _plain(
                        d,
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
                    for d in deliveries
                    if d["run_id"] == run["id"]
                ],
                "timers": [_plain(t, "step", "due_at") for t in timers if t["run_id"] == run["id"]],
            }
            for run in runs
        ],
    }


def _plain(row: Any, *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}
