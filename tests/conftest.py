"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from engine.api.app import create_app
from engine.catalog.catalog import Catalog, empty_catalog, load_catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.store.db import create_db_engine
from engine.store.migrate import upgrade
from tests.support.postgres import PostgresServer

WRITE_KEY = "test-write-key"  # a server key, as the Python SDKs' backends hold
BROWSER_WRITE_KEY = "test-browser-write-key"  # a public key, as parcours.js ships
ADMIN_KEY = "test-admin-key-0123456789"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent  # the repository, with the example content


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("PARCOURS_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating every time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "parcours.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    engine: Engine = request.getfixturevalue("postgres_engine")
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def db_engine(db_url: str, backend: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    if backend == "postgresql":
        tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings; emails go to the test's own outbox, never to the working directory."""
    return Settings(
        env="test",
        database_url=db_url,
        write_keys=[BROWSER_WRITE_KEY],
        server_write_keys=[WRITE_KEY],
        admin_key=ADMIN_KEY,
        outbox_dir=tmp_path / "outbox",
    )


@pytest.fixture
def catalog() -> Catalog:
    """No content by default; audience and flow tests use `example_catalog`."""
    return empty_catalog()


@pytest.fixture(scope="session")
def example_catalog() -> Catalog:
    loaded, problems = load_catalog(ROOT)
    assert loaded is not None, problems
    return loaded


@pytest.fixture
def app(settings: Settings, db_engine: Engine, clock: FrozenClock, catalog: Catalog) -> FastAPI:
    return create_app(settings, engine=db_engine, clock=clock, catalog=catalog)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}
