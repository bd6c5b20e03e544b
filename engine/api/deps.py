"""Typed dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from engine.api.state import AppState
from engine.errors import Unauthorized


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.parcours
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_connection(state: StateDep) -> Iterator[Connection]:
    with state.engine.connect() as conn:
        yield conn


ConnectionDep = Annotated[Connection, Depends(get_connection)]


def require_admin(request: Request, state: StateDep) -> None:
    """Management endpoints take the admin key as `Authorization: Bearer <key>`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or not state.is_admin(token.strip()):
        raise Unauthorized("admin endpoints need 'Authorization: Bearer <PARCOURS_ADMIN_KEY>'")


AdminKey = Depends(require_admin)
