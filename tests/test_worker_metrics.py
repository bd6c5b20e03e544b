"""The worker's Prometheus metrics, scraped over real HTTP from its own listener: queue gauges
against the rows counted independently, job timings and failures, the token rule."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from apscheduler.schedulers.base import BaseScheduler
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from engine.api.state import AppState
from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.demo.server import free_port
from engine.flows.repository import deliveries, timers
from engine.scheduler.jobs import schedule, send_deliveries
from engine.scheduler.listener import serve_metrics
from engine.scheduler.metrics import QueueCollector
from engine.store.db import create_db_engine
from engine.webhooks.repository import messages
from tests.conftest import ADMIN_KEY, BROWSER_WRITE_KEY, START, WRITE_KEY

METRICS_TOKEN = "metrics-token-0123456789abcdef0123"


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


@dataclass
class Worker:
    state: AppState
    scheduler: BaseScheduler
    url: str


@pytest.fixture
def worker(app: FastAPI) -> Iterator[Worker]:
    """The state with its jobs scheduled (not started) and the listener on a free port."""
    state: AppState = app.state.parcours
    state.settings = state.settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    port = free_port()
    server = serve_metrics(state.metrics.registry, state.may_read_metrics, port)
    try:
        yield Worker(state, schedule(state), f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def sign_up(client: TestClient, *names: str) -> None:
    for name in names:
        traits = {"email": f"{name}@x.example", "first_name": name, "role": "marketer"}
        traits["email_experience"] = "beginner"  # the beginner_marketer persona: welcome
        batch = [
            {"type": "identify", "userId": name, "traits": traits},
            {"type": "track", "userId": name, "event": "signed_up"},
        ]
        assert client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, "")).is_success


def test_queue_gauges_match_the_rows(
    worker: Worker, client: TestClient, clock: FrozenClock
) -> None:
    state = worker.state
    sign_up(client, "ana", "bo", "cy")
    emails = select(deliveries.c.id).where(deliveries.c.channel == "email")
    with state.engine.begin() as conn:
        sent, held, _ = conn.execute(emails.order_by(deliveries.c.id)).scalars()
        conn.execute(
            deliveries.update().where(deliveries.c.id == sent).values(status="sent", sent_at=START)
        )
        later = START + timedelta(days=5)  # as quiet hours or a backoff hold a row: not due
        conn.execute(
            deliveries.update().where(deliveries.c.id == held).values(next_attempt_at=later)
        )
        message = {"endpoint_name": "crm", "event_type": "x", "payload": {}, "attempts": 12}
        conn.execute(
            messages.insert(),
            [
                {**message, "message_id": f"m{i}", "status": status, "next_attempt_at": due}
                | {"created_at": START, "updated_at": START}
                for i, (status, due) in enumerate(
                    [("dead", None), ("pending", START), ("retrying", START + timedelta(days=5))]
                )
            ],
        )
    clock.advance(timedelta(days=3))
    with state.engine.connect() as conn:
        by_status = dict(
            conn.execute(
                text("SELECT status, count(*) FROM deliveries WHERE channel = 'email' GROUP BY 1")
            ).all()
        )
        due = conn.execute(select(timers.c.due_at).order_by(timers.c.due_at).limit(1)).scalar()
    assert by_status == {"sent": 1, "pending": 2}
    assert due is not None
    assert due < clock.now()  # the welcome flow's 2-day wait

    metrics = scrape(worker.url)

    assert metrics[("parcours_queue_readable", ())] == 1
    # Due and waiting: the third email (pending since START) and message m1.
    assert metrics[("parcours_outbox_backlog", (("outbox", "deliveries"),))] == 1
    assert metrics[("parcours_outbox_backlog", (("outbox", "webhooks"),))] == 1
    three_days = timedelta(days=3).total_seconds()
    assert metrics[("parcours_outbox_oldest_age_seconds", (("outbox", "deliveries"),))] == (
        three_days
    )
    assert metrics[("parcours_outbox_oldest_age_seconds", (("outbox", "webhooks"),))] == three_days
    assert metrics[("parcours_timer_lag_seconds", ())] == (clock.now() - due).total_seconds()


def test_a_timer_not_due_is_no_lag_and_a_sent_outbox_is_empty(
    worker: Worker, client: TestClient, clock: FrozenClock
) -> None:
    sign_up(client, "ana")  # a welcome email, and a timer due in 2 days
    before = scrape(worker.url)
    send_deliveries(worker.state)
    clock.advance(timedelta(days=1))
    after = scrape(worker.url)

    deliveries_outbox = ("parcours_outbox_backlog", (("outbox", "deliveries"),))
    assert before[deliveries_outbox] == 1
    assert after[deliveries_outbox] == 0
    assert after[("parcours_outbox_oldest_age_seconds", (("outbox", "deliveries"),))] == 0
    assert after[("parcours_timer_lag_seconds", ())] == 0


def test_delivery_and_webhook_counters_are_on_the_worker_listener(
    worker: Worker, client: TestClient
) -> None:
    """Counted where they happen (engine.channels.metrics); the worker, which sends, shows them."""
    sign_up(client, "ana", "bo")
    send_deliveries(worker.state)
    with worker.state.engine.connect() as conn:
        sent = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'sent'")
        ).scalar_one()

    metrics = scrape(worker.url)

    assert sent == 2
    email_sent = (("channel", "email"), ("outcome", "sent"))
    assert metrics[("parcours_delivery_attempts_total", email_sent)] == sent
    assert metrics[("parcours_webhook_dead_letters_total", ())] == 0


def test_job_durations_and_failures_are_counted_per_job(worker: Worker) -> None:
    state = worker.state
    jobs = {job.id: job for job in worker.scheduler.get_jobs()}
    jobs["heartbeat"].func(state)
    jobs["heartbeat"].func(state)
    state.dispatcher = None  # the delivery job cannot run: it raises
    with pytest.raises(AssertionError):
        jobs["send_deliveries"].func(state)

    metrics = scrape(worker.url)

    count = "parcours_job_duration_seconds_count"
    assert metrics[(count, (("job", "heartbeat"),))] == 2
    assert metrics[(count, (("job", "send_deliveries"),))] == 1
    assert metrics[("parcours_job_failures_total", (("job", "send_deliveries"),))] == 1
    assert ("parcours_job_failures_total", (("job", "heartbeat"),)) not in metrics


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        (f"Bearer {BROWSER_WRITE_KEY}", 401),
        (f"Basic {WRITE_KEY}", 401),
        (f"Bearer {ADMIN_KEY}", 200),
        (f"bearer {METRICS_TOKEN}", 200),
    ],
)
def test_the_listener_takes_the_metrics_token_or_the_admin_key(
    worker: Worker, authorization: str | None, status: int
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.get(worker.url, headers=headers)

    assert answer.status_code == status
    if status == 401:
        assert answer.json()["code"] == "unauthorized"
        assert "parcours_" not in answer.text


def test_the_listener_answers_metrics_only(worker: Worker) -> None:
    answer = httpx.get(worker.url.replace("/metrics", "/readyz"))

    assert answer.status_code == 404


def test_an_unreachable_database_reads_as_unreadable_queues(clock: FrozenClock) -> None:
    """A scrape still answers (the job counters stay useful) and says the queues are unknown."""
    registry = CollectorRegistry()
    engine = create_db_engine("postgresql+psycopg://p:pw@127.0.0.1:1/p?connect_timeout=2")
    registry.register(QueueCollector(engine, clock))
    try:
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples
        }
    finally:
        engine.dispose()

    assert samples == {"parcours_queue_readable": 0}
