"""Webhooks as deployed: events sent to the ingestion API reach a subscribed receiver,
signed, through the app's own channels and scheduler jobs (docs/webhooks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.catalog.catalog import Catalog
from tests.conftest import WRITE_KEY
from tests.webhooks.conftest import SECRET_ENV, endpoint_content
from tests.webhooks.receiver import Receiver

FLOW = "flow: f\ntrigger: {stage: signup}\nsteps: [{webhook: crm}]\n"
EVENTS = "[stage.entered, flow.*, delivery.sent]"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, content_secret: str) -> None:
    """The receiver runs on 127.0.0.1; set before the app's settings are read."""
    monkeypatch.setenv("PARCOURS_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv(SECRET_ENV, content_secret)


@pytest.fixture
def catalog(tmp_path: Path, receiver: Receiver) -> Catalog:
    return endpoint_content(tmp_path / "c", f"{receiver.url}/hook", events=EVENTS, f=FLOW)


def test_a_signup_reaches_the_subscribed_receiver_signed(
    client: TestClient,
    app: FastAPI,
    admin_headers: dict[str, str],
    receiver: Receiver,
    content_secret: str,
) -> None:
    # Imported here so that, until it exists, the test fails instead of the collection.
    from engine.scheduler.jobs import send_deliveries, send_webhooks

    receiver.reset(content_secret)
    signup = {"type": "track", "userId": "sophie", "event": "signed_up", "messageId": "m1"}
    answer = client.post("/v1/batch", json={"batch": [signup]}, auth=(WRITE_KEY, ""))
    assert answer.status_code == 200

    state = app.state.parcours
    send_deliveries(state)  # the flow's webhook step, then its delivery.sent event
    send_webhooks(state)  # the outbox: stage.entered, flow.entered, flow.ended, delivery.sent

    requests = receiver.hits("/hook")
    assert all(r.verified for r in requests)
    types = sorted(r.payload["type"] for r in requests)
    assert types == ["delivery.sent", "flow.ended", "flow.entered", "flow.step", "stage.entered"]
    log = client.get("/v1/webhooks/endpoints/crm/attempts", headers=admin_headers)
    assert [a["status_code"] for a in log.json()["data"]] == [200] * 5
