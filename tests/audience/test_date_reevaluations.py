"""The periodic job finds profiles whose date conditions flip, however long ago they were
active, through HTTP and the scheduler job on both backends; identify moves the moment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.audience import repository as repo
from engine.audience.date_traits import condition_hashes
from engine.audience.repository import date_reevaluations, memberships
from engine.catalog.catalog import Catalog, empty_catalog, load_catalog
from engine.clock import FrozenClock
from engine.ingest.repository import profiles
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages, process_time_passed
from engine.scheduler.jobs import reevaluate_audience
from engine.store.db import write_transaction
from tests.conftest import START, WRITE_KEY
from tests.flows.content import content_with

TRIAL_ENDING = "segment: trial_ending\npriority: 30\nwhen: {trait: trial_ends_at, in_next: 3d}\n"
REMINDER = "flow: reminder\ntrigger: {segment: trial_ending}\nsteps: [{tip: shortcuts}]\n"
# START is Monday 2 March 2026, 09:00 UTC; trial_ends_at dates are midnight in Paris (+01:00)
OPENS = datetime(2026, 4, 8, 22, 0, tzinfo=UTC)  # 3 days before 2026-04-12 (+02:00 by then)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    content = content_with(tmp_path / "content", reminder=REMINDER)
    (content / "segments" / "trial.yaml").write_text(TRIAL_ENDING)
    loaded, problems = load_catalog(content)
    assert loaded is not None, problems
    return replace(loaded, default_timezone="Europe/Paris")


def identify(client: TestClient, user: str, **traits: Any) -> None:
    message = {"type": "identify", "userId": user, "traits": traits}
    answer = client.post("/v1/batch", json={"batch": [message]}, auth=(WRITE_KEY, ""))
    assert answer.status_code == 200, answer.text


def due(engine: Engine) -> dict[str, datetime]:
    query = select(profiles.c.user_id, date_reevaluations.c.due_at).join(
        profiles, profiles.c.id == date_reevaluations.c.profile_id
    )
    with engine.connect() as conn:
        return {user: at for user, at in conn.execute(query)}


def members(engine: Engine) -> dict[str, datetime | None]:
    query = select(profiles.c.user_id, memberships.c.exited_at).join(
        profiles, profiles.c.id == memberships.c.profile_id
    )
    with engine.connect() as conn:
        return {user: at for user, at in conn.execute(query)}


def tips(client: TestClient, headers: dict[str, str], user: str) -> list[str]:
    answer = client.get(f"/v1/profiles/{user}/journey", headers=headers)
    assert answer.status_code == 200, answer.text
    return [d["content"] for run in answer.json()["runs"] for d in run["deliveries"]]


def test_the_job_flips_date_conditions_of_long_inactive_profiles_on_time(
    client: TestClient,
    app: FastAPI,
    admin_headers: dict[str, str],
    db_engine: Engine,
    clock: FrozenClock,
) -> None:
    state = app.state.parcours
    identify(client, "ana", trial_ends_at="2026-04-12")  # default zone: Paris
    identify(client, "bo", trial_ends_at="2026-06-01T10:00:00Z", plan="trial")
    identify(client, "cy", trial_ends_at="whenever")
    identify(client, "di", plan="pro")  # no date trait: nothing to schedule
    assert due(db_engine) == {"ana": OPENS, "bo": datetime(2026, 5, 29, 10, 0, tzinfo=UTC)}

    clock.advance(OPENS - START - timedelta(seconds=1))  # five weeks without any event
    reevaluate_audience(state)
    assert members(db_engine) == {}

    clock.advance(timedelta(seconds=1))
    reevaluate_audience(state)
    assert members(db_engine) == {"ana": None}
    assert tips(client, admin_headers, "ana") == ["shortcuts"]
    closes = datetime(2026, 4, 11, 22, 0, tzinfo=UTC)  # the window ends at the trial's end
    assert due(db_engine)["ana"] == closes

    clock.advance(closes - clock.now())
    reevaluate_audience(state)
    assert members(db_engine) == {"ana": closes}
    assert "ana" not in due(db_engine)  # no moment left to wait for
    assert tips(client, admin_headers, "ana") == ["shortcuts"]


def test_identify_moves_the_moment_and_evaluates_at_once(
    client: TestClient, app: FastAPI, db_engine: Engine, clock: FrozenClock
) -> None:
    identify(client, "ana", trial_ends_at="2026-04-12")
    identify(client, "ana", plan="trial")  # another trait: the moment stays
    assert due(db_engine) == {"ana": OPENS}

    identify(client, "ana", trial_ends_at="2026-03-04T09:00:00Z")  # ends in two days
    assert members(db_engine) == {"ana": None}
    assert due(db_engine) == {"ana": datetime(2026, 3, 4, 9, 0, tzinfo=UTC)}

    identify(client, "ana", timezone="Asia/Tokyo", trial_ends_at="2026-04-12")
    assert members(db_engine) == {"ana": START}
    assert due(db_engine) == {"ana": datetime(2026, 4, 8, 15, 0, tzinfo=UTC)}  # Tokyo midnight

    identify(client, "ana", trial_ends_at=None)
    assert due(db_engine) == {}


def test_a_date_condition_added_to_the_content_is_planned_for_existing_profiles(
    db_engine: Engine, catalog: Catalog
) -> None:
    messages = [
        {"type": "identify", "userId": "ana", "traits": {"trial_ends_at": "2026-03-03"}},
        {"type": "identify", "userId": "bo", "traits": {"trial_ends_at": "2026-06-01T10:00:00Z"}},
        {"type": "identify", "userId": "di", "traits": {"plan": "pro"}},
    ]
    parsed = [
        MESSAGE_ADAPTER.validate_python({"messageId": f"m{i}", **m}) for i, m in enumerate(messages)
    ]
    with write_transaction(db_engine) as conn:  # before the content had the condition
        process_messages(conn, empty_catalog(), parsed, START)
    assert due(db_engine) == {}

    process_time_passed(db_engine, catalog, START)
    assert members(db_engine) == {"ana": None}  # in her last 3 days already
    assert due(db_engine) == {
        "ana": datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
        "bo": datetime(2026, 5, 29, 10, 0, tzinfo=UTC),
    }
    with db_engine.connect() as conn:
        assert repo.planned_date_conditions(conn) == set(condition_hashes(catalog))

    process_time_passed(db_engine, replace(catalog, segments={}), START)  # condition removed
    with db_engine.connect() as conn:
        assert repo.planned_date_conditions(conn) == set()


def test_the_job_takes_due_profiles_page_by_page(
    client: TestClient,
    app: FastAPI,
    db_engine: Engine,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("engine.pipeline.PAGE", 2)
    users = [f"u{i}" for i in range(5)]
    for user in users:
        identify(client, user, trial_ends_at="2026-04-12")
    clock.advance(OPENS - START)
    reevaluate_audience(app.state.parcours)
    assert members(db_engine) == dict.fromkeys(users)
    assert set(due(db_engine).values()) == {datetime(2026, 4, 11, 22, 0, tzinfo=UTC)}


def test_changing_the_default_timezone_plans_date_conditions_again(
    db_engine: Engine, catalog: Catalog, client: TestClient
) -> None:
    identify(client, "ana", trial_ends_at="2026-04-12")
    process_time_passed(db_engine, catalog, START)  # planned with Paris
    assert due(db_engine) == {"ana": OPENS}

    process_time_passed(db_engine, replace(catalog, default_timezone="UTC"), START)
    assert due(db_engine) == {"ana": datetime(2026, 4, 9, 0, 0, tzinfo=UTC)}
