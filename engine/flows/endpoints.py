"""`GET /v1/profiles/{user_id}/journey`: why a user did or did not get each message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from engine.api.deps import AdminKey, ConnectionDep
from engine.flows.journey import journey
from engine.inapp.service import profile_id_of

router = APIRouter(prefix="/v1/profiles", tags=["journey"], dependencies=[AdminKey])


@router.get("/{user_id}/journey")
def get_journey(user_id: str, conn: ConnectionDep) -> dict[str, Any]:
    """Every flow run of the profile with each step's outcome, deliveries and pending timers."""
    return {"user_id": user_id, "runs": journey(conn, profile_id_of(conn, user_id))}
