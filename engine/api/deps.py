"""Typed dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from engine.api.state import AppState
from engine.errors import BadRequest, Unauthorized
from engine.ingest.values import shown, text_problem
from engine.store.ids import MAX_ID


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.parcours
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_connection(state: StateDep) -> Iterator[Connection]:
    with state.engine.connect() as conn:
        yield conn


ConnectionDep = Annotated[Connection, Depends(get_connection)]

# A row id in a path: beyond 64 bits it names no row, and the driver would overflow.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def check_parameters(request: Request) -> None:
    """Every route: a path or query parameter holding NUL names nothing any backend stores
    (PostgreSQL refuses the statement), so it is refused here with the parameter's name."""
    given = [("path", request.path_params.items()), ("query", request.query_params.multi_items())]
    errors = []
    for where, pairs in given:
        for name, value in pairs:
            reason = text_problem(name) or text_problem(str(value))
            if reason is not None:
                errors.append({"field": f"{where}.{shown(name)}", "message": reason})
    if errors:
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise BadRequest(message, code="invalid_request", errors=errors)


_BEARER = HTTPBearer(
    auto_error=False, scheme_name="adminKey", description="PARCOURS_ADMIN_KEY as a Bearer token."
)


def require_admin(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> None:
    """Management endpoints take the admin key as `Authorization: Bearer <key>`."""
    if credentials is None or not state.is_admin(credentials.credentials):
        raise Unauthorized("admin endpoints need 'Authorization: Bearer <PARCOURS_ADMIN_KEY>'")


AdminKey = Depends(require_admin)
