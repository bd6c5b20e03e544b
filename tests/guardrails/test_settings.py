"""Guardrails configured by settings reach every path: here, events over the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engine.catalog.catalog import Catalog, load_catalog
from engine.channels.registry import guardrails_of
from engine.config import Settings
from engine.guardrails.rules import FrequencyCap
from tests.conftest import ADMIN_KEY, WRITE_KEY
from tests.flows.content import content_with

TIP_A = "flow: a\ntrigger: {event: go}\nsteps: [{tip: shortcuts}]\n"
TIP_B = "flow: b\ntrigger: {event: go}\npriority: 3\nsteps: [{tip: shortcuts}]\n"


def test_settings_give_one_cap_per_channel_and_leave_unset_channels_free() -> None:
    settings = Settings(env="test", cap_email_per_week=5, cap_tip_per_day=2)
    assert guardrails_of(settings).caps == {
        "email": FrequencyCap(0, 5),
        "tip": FrequencyCap(2, 0),
    }


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cap_tip_per_day": 1})


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    loaded, problems = load_catalog(content_with(tmp_path / "c", a=TIP_A, b=TIP_B))
    assert loaded is not None, problems
    return loaded


def test_the_tip_cap_from_settings_applies_to_ingested_events(client: TestClient) -> None:
    event = {"type": "track", "userId": "u", "event": "go", "messageId": "m1"}
    assert client.post("/v1/batch", json={"batch": [event]}, auth=(WRITE_KEY, "")).is_success
    journey = client.get(
        "/v1/profiles/u/journey", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    ).json()["runs"]
    delivered = {r["flow"]: [(d["status"], d["reason"]) for d in r["deliveries"]] for r in journey}
    assert delivered == {"b": [("sent", None)], "a": [("skipped", "frequency cap: 1 tip per day")]}
