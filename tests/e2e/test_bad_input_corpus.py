"""A corpus of bad inputs, each sent to a real uvicorn server on both backends.

Every case states what it exercises and what must come of it: the status (never a 5xx),
the field named, how many events were stored (the good items around a bad one always are)
and how many dead letters were kept. After each case the server still takes a good batch,
and the dead letters, the funnel, the journey map and a profile page still answer 200:
no stored value may break a later read.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from engine.catalog.catalog import Catalog
from tests.conftest import ADMIN_KEY
from tests.e2e.bad_inputs import ADMIN, BASIC, CORPUS, Case, good
from tests.support.server import live_server


def test_the_corpus_is_large_and_distinct() -> None:
    assert len(CORPUS) >= 60
    assert len({c.name for c in CORPUS}) == len(CORPUS)
    assert len({(c.method, c.path, c.content, str(c.headers)) for c in CORPUS}) == len(CORPUS)


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog  # stages, so the funnel and journey map have something to read


@pytest.fixture
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with (
        live_server(app) as url,
        httpx.Client(base_url=url, timeout=30, follow_redirects=False) as client,
    ):
        yield client


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_bad_input(http: httpx.Client, db_engine: Engine, case: Case) -> None:
    response = http.request(case.method, case.path, content=case.content, headers=case.headers)
    assert response.status_code == case.status, response.text
    if case.status >= 400 and case.status != 405 and case.path != "/dashboard/funnel":
        body = response.json()
        assert body["code"]
        assert body["message"]
        if case.names is not None:
            assert body["errors"][0]["field"] == case.names
    if case.status == 405:
        assert "POST" in response.headers["allow"]
    assert _count(db_engine) == case.stored
    letters = http.get("/v1/dead-letters", headers=ADMIN)
    assert letters.status_code == 200
    assert len(letters.json()["data"]) == case.dead
    _still_serves(http, db_engine, case.stored)


def _count(engine: Engine) -> int:
    """Events sent by the client (the engine adds `internal` ones, such as stage entries)."""
    query = text("SELECT count(*) FROM events WHERE type <> 'internal'")
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _still_serves(http: httpx.Client, engine: Engine, stored: int) -> None:
    """A good batch is taken, and every page that reads stored values renders."""
    more = {"batch": [orjson.loads(good(3))]}
    assert http.post("/v1/batch", json=more, headers={"Authorization": BASIC}).status_code == 200
    assert _count(engine) == stored + 1
    login = http.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    assert login.status_code == 303
    for page in ("/dashboard/funnel", "/dashboard/journey", "/dashboard/profiles/good"):
        assert http.get(page).status_code == 200, page  # the client keeps the session cookie
