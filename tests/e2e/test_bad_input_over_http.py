"""Every bad-input case through a real uvicorn server: status, code, and what was kept."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from tests.conftest import ADMIN_KEY, WRITE_KEY
from tests.support.server import live_server

AUTH = (WRITE_KEY, "")
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
GOOD = {"type": "track", "userId": "u1", "event": "e", "messageId": "good-1"}


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
