"""Admin read API: profiles, their events, erasure, dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from engine.api.deps import AdminKey, ConnectionDep, StateDep
from engine.profiles import service
from engine.profiles.erasure import remove_traces
from engine.profiles.schemas import DeadLetterPage, Erasure, EventPage, ProfilePublic
from engine.store.db import write_transaction

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
def erase_profile(user_id: str, request: Request, state: StateDep) -> Erasure:
    """Erase a profile: every row about it, its dead letters and outbox emails; answers
    what was deleted."""
    with write_transaction(state.engine) as conn:
        erasure, emails = service.erase_profile(conn, user_id)
    erasure.deleted["outbox_files"] = remove_traces(state.engine, state.settings.outbox_dir, emails)
    snapshots = getattr(request.app.state, "dashboard_snapshots", None)
    if snapshots is not None:
        snapshots.clear()  # dashboard pages computed with the profile in them
    return erasure


@router.get("/dead-letters", response_model=DeadLetterPage)
def list_dead_letters(
    conn: ConnectionDep, limit: Limit = 100, cursor: str | None = None
) -> DeadLetterPage:
    """Rejected inputs, newest first, each with the reasons and the original payload."""
    return service.list_dead_letters(conn, limit, cursor)
