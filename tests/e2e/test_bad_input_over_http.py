"""Every bad-input case through a real uvicorn server: status, code, and what was kept."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, update

from engine.audience.repository import stage_entries
from engine.catalog.catalog import Catalog
from engine.ingest.timestamps import EARLIEST
from tests.conftest import ADMIN_KEY, START, WRITE_KEY
from tests.support.server import live_server

AUTH = (WRITE_KEY, "")
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
GOOD = {"type": "track", "userId": "u1", "event": "e", "messageId": "good-1"}


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog  # its stages, so that signups enter one


@pytest.fixture
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no key", {"json": {"batch": [GOOD]}}, 401, "unauthorized"),
    ("wrong key", {"json": {"batch": [GOOD]}, "auth": ("nope", "")}, 401, "unauthorized"),
    ("not json", {"content": b"{oops", "auth": AUTH}, 400, "invalid_json"),
    (
        "bad gzip",
        {"content": b"xx", "auth": AUTH, "headers": {"Content-Encoding": "gzip"}},
        400,
        "invalid_gzip",
    ),
    (
        "batch too large",
        {"content": b"{" + b" " * (4 * 1024 * 1024) + b"}", "auth": AUTH},
        413,
        "payload_too_large",
    ),
    (
        "bad item",
        {"json": {"batch": [GOOD, {"type": "track", "userId": "u1"}]}, "auth": AUTH},
        400,
        "invalid_items",
    ),
]


@pytest.mark.parametrize(
    ("case", "request_kwargs", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_batch(
    http: httpx.Client, case: str, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = http.post("/v1/batch", **request_kwargs)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert body["message"]


def test_oversized_single_call_and_gzip_batch(http: httpx.Client) -> None:
    big = {**GOOD, "properties": {"x": "y" * 40_000}}
    response = http.post("/v1/track", json=big, auth=AUTH)
    assert response.status_code == 413
    gz = gzip.compress(orjson.dumps({"batch": [GOOD]}))
    response = http.post("/v1/batch", content=gz, auth=AUTH, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200


def test_rejected_items_are_readable_as_dead_letters(http: httpx.Client) -> None:
    bad = {"type": "identify", "traits": {"plan": "pro"}}
    response = http.post("/v1/batch", json={"batch": [GOOD, bad]}, auth=AUTH)
    assert response.json()["errors"] == [
        {"field": "batch[1].userId", "message": "userId or anonymousId is required", "index": 1}
    ]
    letters = http.get("/v1/dead-letters", headers=ADMIN).json()["data"]
    assert [(d["item_index"], d["payload"]) for d in letters] == [(1, bad)]
    assert http.get("/v1/profiles/u1", headers=ADMIN).json()["event_counts"]["total"] == 1


def test_an_item_no_column_can_hold_is_kept_as_ascii_text(http: httpx.Client) -> None:
    bad = '{"type":"track","userId":"u1","event":"e","properties":{"k\\u0000":"\\ud800"}}'
    body = '{"batch":[' + orjson.dumps(GOOD).decode() + "," + bad + "]}"
    response = http.post("/v1/batch", content=body, auth=AUTH)
    assert response.json()["errors"] == [
        {
            "field": "batch[1].properties.k\\u0000",
            "message": "the key contains a NUL character (\\u0000)",
            "index": 1,
        }
    ]
    [letter] = http.get("/v1/dead-letters", headers=ADMIN).json()["data"]
    assert letter["payload"] is None
    assert letter["raw"].isascii()
    assert json.loads(letter["raw"]) == json.loads(bad)  # every character kept, escaped
    assert http.get("/v1/profiles/u1", headers=ADMIN).json()["event_counts"]["total"] == 1


def test_event_times_are_clamped_to_1970_and_the_receive_time(http: httpx.Client) -> None:
    future = {**GOOD, "messageId": "future", "timestamp": "2090-01-01T00:00:00Z"}
    skewed = {
        **GOOD,
        "messageId": "skewed",
        "timestamp": "1970-01-01T00:00:01Z",
        "sentAt": "2099-01-01T00:00:00Z",
    }
    assert http.post("/v1/batch", json={"batch": [future, skewed]}, auth=AUTH).status_code == 200
    got = http.get("/v1/profiles/u1/events", headers=ADMIN).json()["data"]
    times = {e["message_id"]: datetime.fromisoformat(e["timestamp"]) for e in got}
    assert times == {"future": START, "skewed": EARLIEST}


def test_a_stage_entry_stored_in_year_9999_does_not_break_the_funnel(
    http: httpx.Client, db_engine: Engine
) -> None:
    """Stored before event times were bounded: later reads must still work."""
    signup = {**GOOD, "event": "signed_up"}
    assert http.post("/v1/batch", json={"batch": [signup]}, auth=AUTH).status_code == 200
    with db_engine.begin() as conn:
        changed = conn.execute(
            update(stage_entries).values(entered_at=datetime(9999, 12, 31, tzinfo=UTC))
        )
    assert changed.rowcount == 1
    http.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    assert http.get("/dashboard/funnel").status_code == 200
