"""Admin read API: profiles, their events, erasure, dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine.api.deps import AdminKey, ConnectionDep
from engine.profiles import service
from engine.profiles.schemas import DeadLetterPage, Erasure, EventPage, ProfilePublic

router = APIRouter(prefix="/v1", tags=["profiles"], dependencies=[AdminKey])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/profiles/{user_id}", response_model=ProfilePublic)
def get_profile(user_id: str, conn: ConnectionDep) -> ProfilePublic:
    """A profile: traits, anonymous ids, first/last seen and event counts."""
    return service.get_profile(conn, user_id)


@router.get("/profiles/{user_id}/events", response_model=EventPage)
def list_profile_events(
    user_id: str, conn: ConnectionDep, limit: Limit = 100, cursor: str | None = None
) -> EventPage:
    """A profile's events, newest first, paginated by cursor."""
    return service.list_events(conn, user_id, limit, cursor)


@router.delete("/profiles/{user_id}", response_model=Erasure)
def erase_profile(user_id: str, conn: ConnectionDep) -> Erasure:
    """Erase a profile with all its events and identities; answers what was deleted."""
    with conn.begin():
        return service.erase_profile(conn, user_id)


@router.get("/dead-letters", response_model=DeadLetterPage)
def list_dead_letters(
    conn: ConnectionDep, limit: Limit = 100, cursor: str | None = None
) -> DeadLetterPage:
    """Rejected inputs, newest first, each with the reasons and the original payload."""
    return service.list_dead_letters(conn, limit, cursor)
