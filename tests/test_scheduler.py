"""The periodic jobs are registered on the scheduler and run against the live state."""

import time
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.experiments.covariates import with_covariates
from engine.experiments.outcomes import EXPOSURES, LATE_DATA_GRACE, folds, metric_key
from engine.experiments.service import known_experiments
from engine.flows.repository import deliveries
from engine.scheduler.heartbeat import heartbeats
from engine.scheduler.jobs import (
    fold_experiment_outcomes,
    reevaluate_audience,
    schedule,
    send_deliveries,
)
from tests.conftest import WRITE_KEY


def test_jobs_are_scheduled_at_the_configured_interval(app: FastAPI) -> None:
    scheduler = schedule(app.state.parcours)
    intervals = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
    assert intervals == {
        "reevaluate_audience": 300,
        "run_timers": 1,
        "send_deliveries": 1,
        "send_webhooks": 1,
        "heartbeat": 1,
        "purge_webhooks": 86_400,
        "start_scheduled_flows": 30,
        "fold_experiment_outcomes": 900,
    }


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


def test_reevaluation_job_ends_a_membership_that_timed_out(
    app: FastAPI, client: TestClient, clock: FrozenClock, admin_headers: dict[str, str]
) -> None:
    batch = [
        {"type": "identify", "userId": "ana", "traits": {"plan": "trial", "email": "a@x.example"}},
        {"type": "track", "userId": "ana", "event": "signed_up"},
    ]
    client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""))
    assert client.get("/v1/profiles/ana", headers=admin_headers).json()["persona"] == (
        "trial_evaluator"
    )
    clock.advance(timedelta(days=15))
    reevaluate_audience(app.state.parcours)
    assert client.get("/v1/profiles/ana", headers=admin_headers).json()["persona"] is None


def test_fold_job_folds_every_metric_of_every_experiment(app: FastAPI, clock: FrozenClock) -> None:
    state = app.state.parcours
    fold_experiment_outcomes(state)
    wanted = {
        (key, metric_key(m), clock.now() - m.window_end - LATE_DATA_GRACE)
        for key, entry in known_experiments(state.catalog).items()
        for m in with_covariates(entry.experiment.metrics)  # and their CUPED covariate parts
    }
    wanted |= {(key, EXPOSURES, clock.now() - LATE_DATA_GRACE) for key, _, _ in wanted}
    with state.engine.connect() as conn:
        assert set(map(tuple, conn.execute(select(folds)))) == wanted
    assert {key for key, _, _ in wanted} == {"welcome-tutorial-first"}  # the example content


def test_the_fold_runs_as_the_scheduler_starts(app: FastAPI) -> None:
    """Not one fold interval (15 minutes) later: results are slow until the first fold."""
    state = app.state.parcours
    scheduler = schedule(state)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        folded = False
        while not folded and time.monotonic() < deadline:
            with state.engine.connect() as conn:
                folded = conn.execute(select(folds)).first() is not None
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert folded


def test_deliveries_are_sent_in_batches_until_none_is_due(app: FastAPI, client: TestClient) -> None:
    state = app.state.parcours
    state.settings = state.settings.model_copy(update={"delivery_batch": 2})
    for name in ("ana", "bo", "cy"):
        traits = {"email": f"{name}@x.example", "first_name": name, "role": "marketer"}
        traits["email_experience"] = "beginner"  # the beginner_marketer persona: welcome
        batch = [
            {"type": "identify", "userId": name, "traits": traits},
            {"type": "track", "userId": name, "event": "signed_up"},
        ]
        client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""))
    emails = select(deliveries.c.status).where(deliveries.c.channel == "email")
    with state.engine.connect() as conn:
        assert conn.execute(emails).scalars().all() == ["pending"] * 3
    send_deliveries(state)
    with state.engine.connect() as conn:
        assert conn.execute(emails).scalars().all() == ["sent"] * 3


def test_the_heartbeat_beats_as_the_scheduler_starts(app: FastAPI, client: TestClient) -> None:
    """`serve`'s embedded worker makes /readyz ready at once, not one tick later."""
    state = app.state.parcours
    state.settings = state.settings.model_copy(update={"tick_seconds": 60})
    before = client.get("/readyz").status_code
    scheduler = schedule(state)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        beaten = False
        while not beaten and time.monotonic() < deadline:
            with state.engine.connect() as conn:
                beaten = conn.execute(select(heartbeats)).first() is not None
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert before == 503
    assert beaten
    assert client.get("/readyz").status_code == 200
