"""The official Segment Python SDK against a real uvicorn server (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from segment.analytics import Client
from sqlalchemy import Engine, func, select

from engine.ingest.repository import events
from tests.conftest import ADMIN_KEY, WRITE_KEY
from tests.support.proxy import answer_losing_proxy
from tests.support.server import live_server

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def server_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


def sdk(host: str, errors: list[Any], **options: Any) -> Client:
    return Client(
        WRITE_KEY,
        host=host,
        on_error=lambda error, items: errors.append((error, items)),
        max_retries=3,
        **options,
    )


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def test_sdk_calls_are_accepted_and_visible_per_user(server_url: str, db_engine: Engine) -> None:
    errors: list[Any] = []
    client = sdk(server_url, errors, gzip=True, upload_size=50)
    client.page(anonymous_id="anon-7", name="Pricing")
    client.track(anonymous_id="anon-7", event="signup_started")
    client.identify("sophie", {"role": "marketing manager"}, anonymous_id="anon-7")
    for i in range(120):
        client.track("sophie", "email_edited", {"n": i})
    client.group("sophie", "acme", {"seats": 12})
    client.alias("sophie", "sophie-2026")  # the app renames the user
    client.flush()
    client.shutdown()
    assert errors == []
    assert stored(db_engine) == 125
    profile = httpx.get(f"{server_url}/v1/profiles/sophie", headers=ADMIN).json()
    assert profile["traits"] == {"role": "marketing manager"}
    assert profile["anonymous_ids"] == ["anon-7"]
    assert profile["user_id"] == "sophie-2026"
    assert profile["event_counts"]["total"] == 125
    assert profile["event_counts"]["by_name"]["email_edited"] == 120


def test_retried_batch_is_not_duplicated(server_url: str, db_engine: Engine) -> None:
    errors: list[Any] = []
    with answer_losing_proxy(server_url, lose_first=1) as proxy:
        client = sdk(f"http://127.0.0.1:{proxy.port}", errors)
        client.track("u1", "campaign_created", {"channel": "email"})
        client.flush()
        client.shutdown()
        assert proxy.requests == 2  # the SDK sent the same batch again
    assert errors == []
    assert stored(db_engine) == 1


def test_sdk_stops_retrying_a_rejected_item(server_url: str, db_engine: Engine) -> None:
    errors: list[Any] = []
    with answer_losing_proxy(server_url, lose_first=0) as proxy:
        client = sdk(f"http://127.0.0.1:{proxy.port}", errors)
        client.track("u1", "ok")
        client.flush()
        # The SDK refuses obviously bad calls itself; send a bad one the way a buggy client would.
        response = httpx.post(
            f"http://127.0.0.1:{proxy.port}/v1/batch",
            json={"batch": [{"type": "track", "userId": "u1"}]},
            auth=(WRITE_KEY, ""),
        )
        client.shutdown()
        assert proxy.requests == 2
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_items"
    assert stored(db_engine) == 1


def test_wrong_write_key_is_reported_to_the_sdk(server_url: str) -> None:
    errors: list[Any] = []
    client = Client(
        "wrong-key",
        host=server_url,
        on_error=lambda error, items: errors.append(error),
    )
    client.track("u1", "e")
    client.flush()
    client.shutdown()
    assert len(errors) == 1
    assert errors[0].status == 401
    assert errors[0].code == "unauthorized"
