"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from engine import __version__
from engine.api.catalog import router as catalog_router
from engine.api.deps import check_parameters
from engine.api.errors import install_error_handlers
from engine.api.metrics import MetricsMiddleware
from engine.api.openapi import install_openapi
from engine.api.state import AppState
from engine.api.system import router as system_router
from engine.browser_sdk.endpoints import router as sdk_router
from engine.catalog.catalog import Catalog, load_live_catalog
from engine.channels.base import Channel
from engine.channels.dispatch import Dispatcher
from engine.channels.endpoints import router as email_links_router
from engine.channels.registry import (
    default_channels,
    email_options,
    guardrails_of,
    webhook_sender,
)
from engine.clock import Clock, SystemClock
from engine.config import Settings
from engine.errors import ConfigurationError
from engine.experiments.endpoints import router as experiments_router
from engine.flows.endpoints import router as journey_router
from engine.inapp.endpoints import router as inapp_router
from engine.ingest.endpoints import router as ingest_router
from engine.profiles.endpoints import router as profiles_router
from engine.store.db import create_db_engine
from engine.store.installation import install_id
from engine.web.endpoints import router as dashboard_router
from engine.webhooks.endpoints import router as webhooks_router


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    channels: Mapping[str, Channel] | None = None,
) -> FastAPI:
    """Build the API. The schema must already be migrated (`parcours serve` does it).

    Without `catalog`, the content directory is loaded; invalid content refuses to start.
    """
    settings = settings or Settings()
    settings.check_secrets()
    clock = clock or SystemClock()
    if catalog is None:
        catalog = _load_content(settings)
    state = AppState(
        settings=settings,
        engine=engine or create_db_engine(settings.database_url),
        clock=clock,
        catalog=catalog,
        catalog_loaded_at=clock.now(),
        webhooks=webhook_sender(settings),
        guardrails=guardrails_of(settings),
    )
    state.dispatcher = Dispatcher(
        state.engine,
        lambda: state.catalog,
        channels
        if channels is not None
        else default_channels(settings, clock, state.webhooks, state.engine),
        clock,
        email_options(settings, install_id(state.engine)),
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        guardrails=state.guardrails,
        metrics=state.metrics.delivery,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if state.webhooks is not None:
            state.webhooks.close()

    app = FastAPI(
        title="Parcours",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(check_parameters)],
    )
    app.state.parcours = state
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(ingest_router)
    app.include_router(profiles_router)
    app.include_router(catalog_router)
    app.include_router(journey_router)
    app.include_router(inapp_router)
    app.include_router(email_links_router)
    app.include_router(experiments_router)
    app.include_router(dashboard_router)
    app.include_router(webhooks_router)
    app.include_router(system_router)
    app.include_router(sdk_router)
    if settings.cors_origins:
        # Browsers on these origins: analytics.js sends Basic auth and, on a retry,
        # X-Retry-Count; parcours.js sends X-User-Hash. Preflights are cached for 10 minutes.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-User-Hash", "X-Retry-Count"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app


def _load_content(settings: Settings) -> Catalog:
    catalog, problems = load_live_catalog(settings.content_dir, settings.default_timezone)
    if catalog is None:
        lines = "\n".join(p.format() for p in problems)
        raise ConfigurationError(f"content in {settings.content_dir} is invalid:\n{lines}")
    return catalog
