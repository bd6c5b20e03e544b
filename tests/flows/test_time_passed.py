"""A stage or segment entered because time passed behaves like one entered by an event: the
worker's periodic re-evaluation starts flows, wakes `wait_until: {stage}` and queues
webhooks (through HTTP and the scheduler job, both backends)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog, load_catalog
from engine.clock import FrozenClock
from engine.scheduler.jobs import reevaluate_audience
from engine.store.webhook_tables import WebhookMessageRow
from engine.testing import Simulation
from engine.webhooks.signing import generate_secret
from tests.conftest import WRITE_KEY
from tests.flows.content import content_with
from tests.webhooks.conftest import SECRET_ENV

webhook_messages = WebhookMessageRow.__table__  # type: ignore[attr-defined]

STAGES = """\
stages:
  - stage: signup
    when: {event: signed_up}
  - stage: activation
    when: {event: campaign_sent}
  - stage: stalled
    ordered: false
    when:
      all:
        - stage: signup
        - not: {stage: signup, within: 2d}
        - not: {stage: activation}
"""
QUIET = """\
segment: quiet
priority: 5
when:
  all:
    - stage: signup
    - not: {stage: signup, within: 1d}
    - not: {event: logged_in}
"""
FLOWS = {
    "rescue": "flow: rescue\ntrigger: {stage: stalled}\nsteps: [{tip: shortcuts}]\n",
    "nudge": "flow: nudge\ntrigger: {segment: quiet}\nsteps: [{tutorial: tour}]\n",
    "waiter": (
        "flow: waiter\ntrigger: {stage: signup}\nsteps:\n"
        "  - wait_until: {stage: stalled, timeout: 10d}\n"
        "    on_timeout: [{tutorial: tour}]\n"
        "  - tip: shortcuts\n"
    ),
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, generate_secret())


def stall_content(target: Path) -> Path:
    """The base content with a time-relative stage and segment, flows on them, and an
    endpoint subscribed to stage and segment events (queued only, never sent here)."""
    content = content_with(target, **FLOWS)
    (content / "segments" / "stages.yaml").write_text(STAGES)
    (content / "segments" / "quiet.yaml").write_text(QUIET)
    (content / "flows" / "endpoints.yaml").write_text(
        "endpoint: crm\nurl: https://crm.example/hook\nevents: [stage.*, segment.*]\n"
        f"secret_env: {SECRET_ENV}\n"
    )
    return content


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    loaded, problems = load_catalog(stall_content(tmp_path / "content"))
    assert loaded is not None, problems
    return loaded


def runs(client: TestClient, headers: dict[str, str], user: str) -> dict[str, dict[str, Any]]:
    answer = client.get(f"/v1/profiles/{user}/journey", headers=headers)
    assert answer.status_code == 200, answer.text
    return {run["flow"]: run for run in answer.json()["runs"]}


def queued(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    query = select(webhook_messages.c.event_type, webhook_messages.c.payload)
    with engine.connect() as conn:
        return [(t, p["data"]) for t, p in conn.execute(query.order_by(webhook_messages.c.id))]


def test_time_passed_starts_wakes_and_publishes_like_an_event(
    client: TestClient,
    app: FastAPI,
    admin_headers: dict[str, str],
    db_engine: Engine,
    clock: FrozenClock,
) -> None:
    state = app.state.parcours
    signup = {"type": "track", "userId": "ana", "event": "signed_up"}
    assert client.post("/v1/batch", json={"batch": [signup]}, auth=(WRITE_KEY, "")).is_success
    assert set(runs(client, admin_headers, "ana")) == {"waiter"}
    assert queued(db_engine) == [("stage.entered", {"user_id": "ana", "stage": "signup"})]

    clock.advance(timedelta(days=1, hours=1))
    reevaluate_audience(state)
    assert set(runs(client, admin_headers, "ana")) == {"waiter", "nudge"}
    assert runs(client, admin_headers, "ana")["nudge"]["deliveries"][0]["content"] == "tour"
    assert queued(db_engine)[1:] == [("segment.entered", {"user_id": "ana", "segment": "quiet"})]

    clock.advance(timedelta(days=1))
    reevaluate_audience(state)
    journey = runs(client, admin_headers, "ana")
    assert journey["rescue"]["status"] == "completed"
    assert [d["content"] for d in journey["rescue"]["deliveries"]] == ["shortcuts"]
    # The wait ended on its target, not its timeout: the tip, never the tour.
    assert journey["waiter"]["status"] == "completed"
    assert [d["content"] for d in journey["waiter"]["deliveries"]] == ["shortcuts"]
    assert journey["waiter"]["timers"] == []
    assert queued(db_engine)[2:] == [("stage.entered", {"user_id": "ana", "stage": "stalled"})]

    reevaluate_audience(state)  # nothing changed since: nothing new
    assert len(queued(db_engine)) == 3
    assert {f: r["status"] for f, r in runs(client, admin_headers, "ana").items()} == {
        "waiter": "completed",
        "nudge": "completed",
        "rescue": "completed",
    }


def test_activated_profile_is_not_rescued(
    client: TestClient, app: FastAPI, admin_headers: dict[str, str], clock: FrozenClock
) -> None:
    batch = [
        {"type": "track", "userId": "bo", "event": "signed_up"},
        {"type": "track", "userId": "bo", "event": "logged_in"},
        {"type": "track", "userId": "bo", "event": "campaign_sent"},
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, "")).is_success
    clock.advance(timedelta(days=3))
    reevaluate_audience(app.state.parcours)
    assert set(runs(client, admin_headers, "bo")) == {"waiter"}


def test_stall_rescue_in_the_testing_kit(tmp_path: Path) -> None:
    with Simulation(stall_content(tmp_path / "content")) as sim:
        sim.track("ana", "signed_up")
        sim.track("bo", "signed_up")
        sim.track("bo", "logged_in")
        sim.track("bo", "campaign_sent")
        sim.advance("3d")
        assert sim.delivered("ana", content="shortcuts")
        assert {r["flow"] for r in sim.journey("ana")} == {"waiter", "nudge", "rescue"}
        assert {r["flow"] for r in sim.journey("bo")} == {"waiter"}
