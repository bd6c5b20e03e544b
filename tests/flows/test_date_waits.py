"""A `wait_until: {trait}` follows its trait over HTTP on both backends: the identify that
moves the date moves the timer in its own transaction; the tick ends the wait on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog, load_catalog
from engine.clock import FrozenClock
from engine.flows.repository import timers
from engine.flows.tasks import run_due_timers
from tests.conftest import WRITE_KEY
from tests.flows.content import content_with

RENEWAL = """\
flow: renewal
trigger: {event: subscribed}
steps:
  - wait_until: {trait: renewal_at, offset: -7d}
  - tip: shortcuts
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    loaded, problems = load_catalog(content_with(tmp_path / "content", renewal=RENEWAL))
    assert loaded is not None, problems
    return loaded


def send(client: TestClient, *messages: dict[str, Any]) -> None:
    answer = client.post("/v1/batch", json={"batch": list(messages)}, auth=(WRITE_KEY, ""))
    assert answer.status_code == 200, answer.text


def due(engine: Engine) -> list[datetime]:
    with engine.connect() as conn:
        return list(conn.execute(select(timers.c.due_at)).scalars())


def timer_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(timers.c.id)).scalars())


def test_identify_moves_the_timer_and_the_tick_ends_the_wait_at_the_new_date(
    client: TestClient,
    app: FastAPI,
    admin_headers: dict[str, str],
    db_engine: Engine,
    clock: FrozenClock,
    catalog: Catalog,
) -> None:
    identify = {"type": "identify", "userId": "ana", "traits": {"renewal_at": "2026-04-01"}}
    send(client, identify, {"type": "track", "userId": "ana", "event": "subscribed"})
    assert due(db_engine) == [datetime(2026, 3, 25, tzinfo=UTC)]

    timer = timer_ids(db_engine)
    send(client, {"type": "identify", "userId": "ana", "traits": {"plan": "pro"}})
    assert timer_ids(db_engine) == timer  # its date stands: the timer is left alone

    moved = {"type": "identify", "userId": "ana", "traits": {"renewal_at": "2026-05-01"}}
    send(client, moved)
    assert due(db_engine) == [datetime(2026, 4, 24, tzinfo=UTC)]

    clock.advance(datetime(2026, 3, 25, tzinfo=UTC) - clock.now())  # the old date: nothing
    assert run_due_timers(db_engine, catalog, clock.now()) == 0
    clock.advance(timedelta(days=30))
    assert run_due_timers(db_engine, catalog, clock.now()) == 1
    journey = client.get("/v1/profiles/ana/journey", headers=admin_headers).json()
    assert [d["content"] for d in journey["runs"][0]["deliveries"]] == ["shortcuts"]
    assert due(db_engine) == []
