"""`/demo-app` (what `parcours demo --serve` adds): the sample app signed in as a user with a
tour waiting, shown by parcours.js from the same origin."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.demo.sample_app import APP_DIR, sample_app_router
from engine.inapp.service import user_hash
from tests.browser.conftest import eventually, send_event, stored_events
from tests.conftest import BROWSER_WRITE_KEY
from tests.support.server import live_server

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def demo_app(
    settings: Settings, db_engine: Engine, clock: FrozenClock, inapp_catalog: Catalog
) -> FastAPI:
    app = create_app(settings, engine=db_engine, clock=clock, catalog=inapp_catalog)
    app.include_router(sample_app_router(app.state.parcours, BROWSER_WRITE_KEY))
    return app


@SQLITE
def test_signs_in_as_a_user_with_a_tour_and_shows_it(
    browser: Any, demo_app: FastAPI, settings: Settings, db_engine: Engine
) -> None:
    with live_server(demo_app) as base:
        send_event(base, "gus", "shortcuts_requested")
        send_event(base, "fay", "tour_requested")
        with TestClient(demo_app) as client:
            answer = client.get("/demo-app", follow_redirects=False)
        assert answer.status_code == 303
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["user"] == ["fay"]  # a tutorial before a tip
        assert query["hash"] == [user_hash(settings.inapp_secret, "fay")]
        tab = browser.new_page()
        tab.goto(f"{base}/demo-app")
        card = tab.locator("#parcours-root >> [role=dialog]")
        assert card.locator(".progress").inner_text() == "1 of 3"
        assert eventually(
            lambda: [e for e in stored_events(db_engine, "fay") if e["name"] == "tutorial_seen"]
        )
        tab.close()


@SQLITE
def test_without_a_waiting_item_it_says_so(demo_app: FastAPI) -> None:
    with TestClient(demo_app) as client:
        answer = client.get("/demo-app", follow_redirects=False)
    assert answer.status_code == 404
    assert "no demo user" in answer.json()["message"]


def test_the_sample_app_has_every_target_of_the_example_content(example_catalog: Catalog) -> None:
    page = (APP_DIR / "index.html").read_text()
    ids = set(re.findall(r'id="([^"]+)"', page))
    targets = {tip.target for tip in example_catalog.tips.values() if tip.target}
    targets |= {step.target for t in example_catalog.tutorials.values() for step in t.steps}
    assert targets
    assert {t for t in targets if t.removeprefix("#") not in ids} == set()
