"""Real Chromium against real uvicorn: the SaaS page on one origin, Parcours on another.

Waiting for the browser's requests to land is polling the database with a deadline, never a
sleep-then-assert: `eventually` returns as soon as the condition holds.
"""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from playwright import sync_api
from sqlalchemy import Engine, select

from engine.api.app import create_app
from engine.catalog.catalog import Catalog, load_catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.inapp.service import user_hash
from engine.ingest.repository import events
from tests.conftest import BROWSER_WRITE_KEY, ROOT, WRITE_KEY
from tests.support.chromium import ARGS, CHROMIUM
from tests.support.server import live_server

T = TypeVar("T")
APP_DIR = ROOT / "engine" / "demo" / "app"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """A plain static file server on 127.0.0.1 (the SaaS app's own origin)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def inapp_catalog() -> Catalog:
    loaded, problems = load_catalog(Path(__file__).parent / "content")
    assert loaded is not None, problems
    return loaded


@contextmanager
def parcours_server(
    settings: Settings, engine: Engine, clock: FrozenClock, catalog: Catalog, origin: str
) -> Iterator[str]:
    allowed = settings.model_copy(update={"cors_origins": [origin]})
    app: FastAPI = create_app(allowed, engine=engine, clock=clock, catalog=catalog)
    with live_server(app) as base:
        yield base


def eventually(probe: Callable[[], T | None], seconds: float = 10) -> T:
    """The probe's first truthy answer; fails after `seconds` without one."""
    deadline = time.monotonic() + seconds
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still {answer!r} after {seconds}s")
        time.sleep(0.05)


def stored_events(engine: Engine, user: str) -> list[dict[str, Any]]:
    """The events of `user`'s profile as dicts (type, name, properties, context)."""
    query = select(events).where(events.c.user_id == user).order_by(events.c.id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def send_event(base: str, user: str, event: str) -> None:
    """What the SaaS backend sends with its server key (it starts the test's flows)."""
    body = {"type": "track", "userId": user, "event": event, "messageId": f"{user}:{event}"}
    response = httpx.post(f"{base}/v1/track", json=body, auth=(WRITE_KEY, ""))
    assert response.status_code == 200, response.text


def app_url(site: str, base: str, settings: Settings, user: str, **extra: str) -> str:
    query = httpx.QueryParams(
        host=base,
        key=BROWSER_WRITE_KEY,
        user=user,
        hash=user_hash(settings.inapp_secret, user),
        **extra,
    )
    return f"{site}/index.html?{query}"
