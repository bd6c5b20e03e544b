"""/healthz is liveness; /readyz is readiness: database, migration heads, worker heartbeat."""

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from engine.clock import FrozenClock
from engine.scheduler.heartbeat import worker_name
from engine.scheduler.jobs import heartbeat
from engine.store.db import create_db_engine
from engine.store.migrate import code_heads


def test_not_ready_until_a_worker_beats_then_ready(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    before = client.get("/readyz")
    heartbeat(app.state.parcours)
    after = client.get("/readyz")

    assert before.status_code == 503
    assert before.json() == {
        "status": "not_ready",
        "checks": {"database": "ok", "migrations": "ok", "worker": "no worker heartbeat yet"},
    }
    assert after.status_code == 200
    assert after.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }


def test_a_stale_heartbeat_is_not_ready_with_its_age(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    heartbeat(app.state.parcours)
    clock.advance(timedelta(seconds=60))  # the default PARCOURS_HEARTBEAT_STALE_SECONDS
    at_limit = client.get("/readyz")
    clock.advance(timedelta(seconds=30))
    stale = client.get("/readyz")

    assert at_limit.status_code == 200
    assert stale.status_code == 503
    assert stale.json()["checks"]["worker"] == "newest heartbeat is 90 s old"


def test_the_newest_of_several_workers_counts(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    state = app.state.parcours
    with state.engine.begin() as conn:
        old = clock.now() - timedelta(hours=1)
        conn.execute(
            text("INSERT INTO worker_heartbeats (worker, beat_at) VALUES ('gone:1', :at)"),
            {"at": old},
        )
    assert client.get("/readyz").status_code == 503
    heartbeat(state)
    assert client.get("/readyz").status_code == 200


def test_a_beat_forgets_workers_silent_for_a_day(app: FastAPI, clock: FrozenClock) -> None:
    state = app.state.parcours
    with state.engine.begin() as conn:
        for worker, age in (("restarted:1", timedelta(days=2)), ("paused:2", timedelta(hours=23))):
            conn.execute(
                text("INSERT INTO worker_heartbeats (worker, beat_at) VALUES (:w, :at)"),
                {"w": worker, "at": clock.now() - age},
            )
    heartbeat(state)

    with state.engine.connect() as conn:
        kept = set(conn.execute(text("SELECT worker FROM worker_heartbeats")).scalars())
    assert kept == {"paused:2", worker_name()}


def test_a_database_behind_the_code_is_not_ready(app: FastAPI, client: TestClient) -> None:
    state = app.state.parcours
    heartbeat(state)
    head = sorted(code_heads())[0]
    with state.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": head})
    try:
        answer = client.get("/readyz")
    finally:
        with state.engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})

    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == "ok"
    assert head in checks["migrations"]
    assert "run parcours db upgrade" in checks["migrations"]
    assert checks["worker"] == "unknown"


def test_an_unreachable_database_is_not_ready_and_its_url_is_not_shown(
    app: FastAPI, client: TestClient
) -> None:
    """Nothing listens on port 1; the password must not reach the answer."""
    app.state.parcours.engine = create_db_engine(
        "postgresql+psycopg://parcours:s3cret-pw@127.0.0.1:1/parcours?connect_timeout=2"
    )
    ready = client.get("/readyz")
    alive = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "database": "unreachable (OperationalError)",
        "migrations": "unknown",
        "worker": "unknown",
    }
    assert alive.status_code == 500
    for answer in (ready, alive):
        assert "s3cret-pw" not in answer.text
        assert "127.0.0.1" not in answer.text


def test_healthz_stays_a_liveness_probe_without_a_worker(client: TestClient) -> None:
    answer = client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
