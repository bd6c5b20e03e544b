"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from engine.api.deps import StateDep
from engine.api.state import AppState
from engine.errors import EngineError, Unauthorized
from engine.scheduler.heartbeat import latest_beat
from engine.store.migrate import code_heads, database_heads

router = APIRouter(tags=["system"])


@router.get("/healthz")
def get_health(state: StateDep) -> dict[str, str]:
    """Liveness: 200 when the API can reach its database."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise EngineError(f"database unreachable: {type(exc).__name__}", code="unhealthy") from exc
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready, with each reason"}})
def get_readiness(state: StateDep) -> JSONResponse:
    """Readiness: the database answers, its schema is at the code's migration heads, and a
    worker beat within PARCOURS_HEARTBEAT_STALE_SECONDS (a 503 names what is missing)."""
    checks = readiness(state)
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def readiness(state: AppState) -> dict[str, str]:
    """Each check's "ok" or the reason it fails; nothing secret (no URL, no error text that
    could carry one: only the exception's class)."""
    try:
        heads = database_heads(state.engine)
        beat = latest_beat(state.engine) if heads == code_heads() else None
    except Exception as exc:
        reason = f"unreachable ({type(exc).__name__})"
        return {"database": reason, "migrations": "unknown", "worker": "unknown"}
    checks = {"database": "ok", "migrations": "ok", "worker": "ok"}
    if heads != code_heads():
        at = ", ".join(sorted(heads)) or "no revision"
        checks["migrations"] = (
            f"the database is at {at}, the code at {', '.join(sorted(code_heads()))}:"
            " run parcours db upgrade"
        )
        checks["worker"] = "unknown"
    elif beat is None:
        checks["worker"] = "no worker heartbeat yet"
    else:
        age = (state.clock.now() - beat).total_seconds()
        if age > state.settings.heartbeat_stale_seconds:
            checks["worker"] = f"newest heartbeat is {age:.0f} s old"
    return checks


@router.get("/metrics", response_class=Response)
def get_metrics(request: Request, state: StateDep) -> Response:
    """Prometheus text exposition; `Authorization: Bearer` with PARCOURS_METRICS_TOKEN or the
    admin key (Prometheus: `authorization: {credentials: ...}` in the scrape config)."""
    if not state.may_read_metrics(bearer_token(request.headers.get("authorization", ""))):
        raise Unauthorized(
            "/metrics needs 'Authorization: Bearer <PARCOURS_METRICS_TOKEN or admin key>'"
        )
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer ...` header, else ""."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
