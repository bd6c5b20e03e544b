"""`parcours model train activation` on both databases, and the risk score reaching users:
an at-risk segment entered by the periodic job once a quiet first day is over."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog, load_catalog
from engine.catalog.internal_events import INTERNAL_EVENTS
from engine.clock import FrozenClock
from engine.ml.commands import train_activation_command
from engine.pipeline import process_time_passed
from tests.conftest import WRITE_KEY
from tests.ml.conftest import write
from tests.ml.synthetic import Event, population, store

AT_RISK = "segment: at_risk\npriority: 50\nwhen:\n  activation_risk: {above: 0.6}\n"


@pytest.fixture
def trained(db_engine: Engine, content_dir: Path, db_url: str, clock: FrozenClock) -> str:
    sketches, _ = population(1200, seed=9, activation="signal")
    store(db_engine, sketches)
    out = io.StringIO()
    code = train_activation_command(content_dir, db_url, clock=clock, out=out)
    assert code == 0, out.getvalue()
    write(content_dir, "segments/at_risk.yaml", AT_RISK)
    return out.getvalue()


@pytest.fixture
def catalog(trained: str, content_dir: Path) -> Catalog:
    loaded, problems = load_catalog(content_dir)
    assert loaded is not None, problems
    return loaded


def test_training_reports_and_saves_a_model_that_predicts(trained: str, content_dir: Path) -> None:
    manifest = json.loads((content_dir / "segments/models/activation-v1/manifest.json").read_text())
    assert manifest["kind"] == "activation"
    assert manifest["target_stage"] == "activation"
    quality = manifest["quality"]
    assert quality["roc_auc"] >= 0.8
    assert quality["train_profiles"] + quality["test_profiles"] == 1200
    assert len(quality["calibration"]) == 10
    assert manifest["training"]["observation_hours"] == 24
    assert manifest["coefficients"][0]["column"] == "event:campaign_created"
    assert f"ROC AUC {quality['roc_auc']:.3f}" in trained
    assert "calibration (held out)" in trained


def test_a_model_no_better_than_chance_is_not_saved(
    db_engine: Engine, content_dir: Path, db_url: str, clock: FrozenClock
) -> None:
    sketches, _ = population(800, seed=10, activation="noise")
    store(db_engine, sketches)
    out = io.StringIO()
    assert train_activation_command(content_dir, db_url, clock=clock, out=out) == 1
    assert "Not saved: ROC AUC" in out.getvalue()
    assert not (content_dir / "segments/models").exists()


def test_what_parcours_did_is_not_learned(
    db_engine: Engine, content_dir: Path, db_url: str, clock: FrozenClock
) -> None:
    """Every profile that later activates completed a tutorial and clicked an email on day
    one, and each has its own company name: none of it may become a feature."""
    sketches, _ = population(800, seed=11, activation="signal")
    for i, sketch in enumerate(sketches):
        sketch.traits["company"] = {**sketch.traits.get("company", {}), "name": f"Co {i}"}
        if "activation" in sketch.stage_entries:
            hour = sketch.signup_at + timedelta(hours=3)
            sketch.events += [Event("tutorial_completed", hour), Event("email_clicked", hour)]
    store(db_engine, sketches)
    out = io.StringIO()
    assert train_activation_command(content_dir, db_url, clock=clock, out=out) == 0, out.getvalue()
    manifest = json.loads((content_dir / "segments/models/activation-v1/manifest.json").read_text())
    features = manifest["features"]
    assert "campaign_created" in features["events"]
    assert not set(features["events"]) & INTERNAL_EVENTS
    assert "company.name" not in [t["key"] for t in features["categorical"]]
    columns = [c["column"] for c in manifest["coefficients"]]
    assert not [c for c in columns if "tutorial" in c or "email_clicked" in c or "Co " in c]


def send(client: TestClient, *messages: dict[str, Any]) -> None:
    response = client.post("/v1/batch", json={"batch": list(messages)}, auth=(WRITE_KEY, ""))
    assert response.status_code == 200, response.text


def segments(client: TestClient, headers: dict[str, str], user: str) -> set[str]:
    body = client.get(f"/v1/profiles/{user}", headers=headers).json()
    return {s["segment"] for s in body["segments"]}


def test_a_quiet_first_day_puts_a_user_at_risk(
    client: TestClient,
    admin_headers: dict[str, str],
    catalog: Catalog,
    db_engine: Engine,
    clock: FrozenClock,
) -> None:
    send(client, {"type": "identify", "userId": "quiet", "traits": {"plan": "free"}})
    send(client, {"type": "track", "userId": "quiet", "event": "signed_up"})
    send(client, {"type": "identify", "userId": "busy", "traits": {"plan": "pro"}})
    send(
        client,
        {"type": "track", "userId": "busy", "event": "signed_up"},
        *({"type": "track", "userId": "busy", "event": "campaign_created"} for _ in range(4)),
    )
    assert segments(client, admin_headers, "quiet") == set()  # day one is not over
    clock.advance(timedelta(hours=25))
    process_time_passed(db_engine, catalog, clock.now())  # no event: the job scores
    assert segments(client, admin_headers, "quiet") == {"at_risk"}
    assert segments(client, admin_headers, "busy") == set()
    # Activating ends the risk.
    send(
        client,
        {"type": "track", "userId": "quiet", "event": "logged_in"},
        {"type": "track", "userId": "quiet", "event": "campaign_sent"},
    )
    assert segments(client, admin_headers, "quiet") == set()


def test_bad_windows_are_refused(content_dir: Path, db_url: str, clock: FrozenClock) -> None:
    assert (
        train_activation_command(content_dir, db_url, observe="2d", within="1d", clock=clock) == 2
    )
    assert train_activation_command(content_dir, db_url, observe="soon", clock=clock) == 2
