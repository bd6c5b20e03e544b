"""Liveness and metrics endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from engine.api.deps import StateDep
from engine.errors import EngineError, Unauthorized

router = APIRouter(tags=["system"])


@router.get("/healthz")
def get_health(state: StateDep) -> dict[str, str]:
    """200 when the API can reach its database."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise EngineError(f"database unreachable: {type(exc).__name__}", code="unhealthy") from exc
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
def get_metrics(request: Request, state: StateDep) -> Response:
    """Prometheus text exposition; `Authorization: Bearer` with PARCOURS_METRICS_TOKEN or the
    admin key (Prometheus: `authorization: {credentials: ...}` in the scrape config)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not state.may_read_metrics(token.strip()):
        raise Unauthorized(
            "/metrics needs 'Authorization: Bearer <PARCOURS_METRICS_TOKEN or admin key>'"
        )
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
