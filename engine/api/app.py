"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from engine import __version__
from engine.api.errors import install_error_handlers
from engine.api.metrics import MetricsMiddleware
from engine.api.state import AppState
from engine.api.system import router as system_router
from engine.clock import Clock, SystemClock
from engine.config import Settings
from engine.ingest.endpoints import router as ingest_router
from engine.profiles.endpoints import router as profiles_router
from engine.store.db import create_db_engine


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the API. The schema must already be migrated (`parcours serve` does it)."""
    settings = settings or Settings()
    settings.check_secrets()
    state = AppState(
        settings=settings,
        engine=engine or create_db_engine(settings.database_url),
        clock=clock or SystemClock(),
    )
    app = FastAPI(title="Parcours", version=__version__)
    app.state.parcours = state
    install_error_handlers(app)
    app.include_router(ingest_router)
    app.include_router(profiles_router)
    app.include_router(system_router)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app
