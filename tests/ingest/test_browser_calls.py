"""What analytics.js sends, through the real app and database (both backends): short paths,
`text/plain` bodies with the write key inside, CORS preflights from configured origins only."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.api.app import create_app
from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.ingest.repository import events
from tests.conftest import BROWSER_WRITE_KEY

ORIGIN = "http://app.example.test"
TEXT = {"Content-Type": "text/plain"}


@pytest.fixture
def browser_client(
    settings: Settings, db_engine: Engine, clock: FrozenClock, catalog: Catalog
) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"cors_origins": [ORIGIN]})
    app = create_app(configured, engine=db_engine, clock=clock, catalog=catalog)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def stored(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.type, events.c.name).order_by(events.c.id))
        return [(row.type, row.name) for row in rows]


def plain(body: dict[str, object]) -> bytes:
    return orjson.dumps({**body, "writeKey": BROWSER_WRITE_KEY})


def test_each_short_path_stores_its_call(browser_client: TestClient, db_engine: Engine) -> None:
    calls = {
        "i": {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
        "t": {"type": "track", "userId": "u1", "event": "campaign_created"},
        "p": {"type": "page", "userId": "u1", "name": "Home"},
        "s": {"type": "screen", "userId": "u1", "name": "Inbox"},
        "g": {"type": "group", "userId": "u1", "groupId": "acme"},
        "a": {"type": "alias", "userId": "u1", "previousId": "anon-1"},
    }
    for index, (short, call) in enumerate(calls.items()):
        body = plain({**call, "messageId": f"m{index}"})
        response = browser_client.post(f"/v1/{short}", content=body, headers=TEXT)
        assert (response.status_code, response.content) == (200, b'{"success":true}'), short
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "sent", "messageId": "b1"}]}
    assert browser_client.post("/v1/b", content=plain(batch), headers=TEXT).status_code == 200
    kinds = [kind for kind, _ in stored(db_engine)]
    assert kinds == ["identify", "track", "page", "screen", "group", "alias", "track"]


def test_short_path_checks_items_like_its_long_name(browser_client: TestClient) -> None:
    body = plain({"type": "track", "userId": "u1", "messageId": "m1"})
    response = browser_client.post("/v1/t", content=body, headers=TEXT)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "event"
    unsigned = orjson.dumps({"type": "track", "userId": "u1", "event": "e"})
    assert browser_client.post("/v1/t", content=unsigned, headers=TEXT).status_code == 401


def test_email_tracking_routes_still_answer_under_v1_t(browser_client: TestClient) -> None:
    opened = browser_client.get("/v1/t/o/not-a-token")
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "image/gif"


def test_preflight_from_a_configured_origin_allows_what_analytics_js_sends(
    browser_client: TestClient,
) -> None:
    response = browser_client.options(
        "/v1/b",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-retry-count",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-retry-count", "x-user-hash"} <= set(
        allowed.replace(" ", "").split(",")
    )
    posted = browser_client.post(
        "/v1/t",
        content=plain({"type": "track", "userId": "u1", "event": "e", "messageId": "m1"}),
        headers={**TEXT, "Origin": ORIGIN},
    )
    assert posted.headers["access-control-allow-origin"] == ORIGIN


def test_other_origins_get_no_cors_answer(browser_client: TestClient) -> None:
    response = browser_client.options(
        "/v1/t",
        headers={"Origin": "http://evil.example.test", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    posted = browser_client.post(
        "/v1/t",
        content=plain({"type": "track", "userId": "u1", "event": "e", "messageId": "m1"}),
        headers={**TEXT, "Origin": "http://evil.example.test"},
    )
    assert "access-control-allow-origin" not in posted.headers
