"""Admin API of outbound webhooks: endpoints, their delivery logs, dead letters, replay.

Endpoint ids are the name for endpoints defined in content and digits for endpoints added
here. Creation and rotation answer the secret; nothing else ever shows it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from engine.api.deps import AdminKey, ConnectionDep, StateDep
from engine.api.openapi import error_response
from engine.store.db import write_transaction
from engine.webhooks import service
from engine.webhooks.schemas import (
    AttemptPage,
    EndpointCreate,
    EndpointList,
    EndpointPublic,
    EndpointWithSecret,
    MessagePage,
    MessagePublic,
    Replayed,
    SecretRotation,
    Status,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=[AdminKey])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/endpoints", response_model=EndpointWithSecret, status_code=201)
def create_endpoint(body: EndpointCreate, state: StateDep) -> EndpointWithSecret:
    """Add an endpoint; the answer holds its signing secret, shown this once."""
    with write_transaction(state.engine) as conn:
        return service.create_endpoint(conn, body, state.clock.now())


@router.get("/endpoints", response_model=EndpointList)
def list_endpoints(conn: ConnectionDep, state: StateDep) -> EndpointList:
    """Every endpoint: those defined in content, then those added through this API."""
    return service.list_endpoints(conn, state.catalog)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointPublic)
def get_endpoint(endpoint_id: str, conn: ConnectionDep, state: StateDep) -> EndpointPublic:
    """One endpoint, without its secret."""
    return service.get_endpoint(conn, state.catalog, endpoint_id)


@router.delete("/endpoints/{endpoint_id}", status_code=204, responses={409: error_response(409)})
def delete_endpoint(endpoint_id: str, state: StateDep) -> Response:
    """Delete an API endpoint with its pending messages and delivery log."""
    with write_transaction(state.engine) as conn:
        service.delete_endpoint(conn, state.catalog, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    responses={409: error_response(409)},
)
def rotate_endpoint_secret(
    endpoint_id: str, body: SecretRotation, state: StateDep
) -> EndpointWithSecret:
    """Sign with a new secret; the old one keeps signing too until the overlap ends."""
    with write_transaction(state.engine) as conn:
        return service.rotate_secret(conn, state.catalog, endpoint_id, body, state.clock.now())


@router.get("/endpoints/{endpoint_id}/attempts", response_model=AttemptPage)
def list_endpoint_attempts(
    endpoint_id: str,
    conn: ConnectionDep,
    state: StateDep,
    limit: Limit = 100,
    cursor: str | None = None,
) -> AttemptPage:
    """The endpoint's delivery log, newest first: status codes, answers, durations."""
    return service.list_attempts(conn, state.catalog, endpoint_id, limit, cursor)


@router.post("/endpoints/{endpoint_id}/replay", response_model=Replayed)
def replay_endpoint(endpoint_id: str, state: StateDep) -> Replayed:
    """Send every dead message of the endpoint again."""
    with write_transaction(state.engine) as conn:
        return service.replay_endpoint(conn, state.catalog, endpoint_id, state.clock.now())


@router.get("/messages", response_model=MessagePage, responses={404: error_response(404)})
def list_messages(
    conn: ConnectionDep,
    state: StateDep,
    status: Status | None = None,
    endpoint: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> MessagePage:
    """Outbox messages, newest first; `?status=dead` lists the dead letters."""
    return service.list_messages(conn, state.catalog, endpoint, status, limit, cursor)


@router.post(
    "/messages/{message_id}/replay",
    response_model=MessagePublic,
    responses={409: error_response(409)},
)
def replay_message(message_id: str, state: StateDep) -> MessagePublic:
    """Send a dead message again, with the same webhook-id and a fresh retry budget."""
    with write_transaction(state.engine) as conn:
        return service.replay_message(conn, message_id, state.clock.now())
