"""Dashboard fixtures: the example content, a populated database, the dashboard mounted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.web.endpoints import router
from tests.conftest import ADMIN_KEY
from tests.web.population import populate


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


@pytest.fixture
def populated(db_engine: Engine, catalog: Catalog, clock: FrozenClock) -> Engine:
    """The database after the population's three weeks and two more days."""
    populate(db_engine, catalog, clock)
    return db_engine


def mount(app: FastAPI) -> FastAPI:
    """The dashboard on the app, unless the app factory already includes it."""
    if not any(getattr(r, "path", "") == "/dashboard/login" for r in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def dashboard(app: FastAPI) -> FastAPI:
    return mount(app)


@pytest.fixture
def browser_client(dashboard: FastAPI) -> Iterator[TestClient]:
    """A client that does not follow redirects, so tests see where they point."""
    with TestClient(dashboard, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.fixture
def logged_in(browser_client: TestClient) -> TestClient:
    response = browser_client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    assert response.status_code == 303
    return browser_client
