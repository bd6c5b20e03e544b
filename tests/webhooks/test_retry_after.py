"""A receiver's `Retry-After` (seconds or HTTP-date, on 429 and 503) sets the next attempt,
up to the longest wait; every failed attempt is logged and counted (both databases)."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import format_datetime

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.channels.metrics import DeliveryMetrics
from engine.clock import FrozenClock
from engine.webhooks.sender import WebhookSender
from tests.webhooks.conftest import SECRET_ENV
from tests.webhooks.helpers import outbox, send, track
from tests.webhooks.receiver import Receiver


@pytest.fixture
def environ(content_secret: str, receiver: Receiver) -> dict[str, str]:
    receiver.reset(content_secret)
    return {SECRET_ENV: content_secret}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def counted(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_a_429_with_retry_after_seconds_sets_the_next_attempt_and_is_logged_and_counted(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.answers.append((429, {"Retry-After": "3600"}))
    track(db_engine, catalog, clock, "sophie", "signed_up")
    metrics = DeliveryMetrics(registry)

    with caplog.at_level(logging.WARNING, logger="engine.webhooks.tasks"):
        assert send(db_engine, catalog, sender, clock, environ, metrics=metrics) == 1

    [row] = outbox(db_engine)
    due = clock.now() + timedelta(hours=1)  # as asked, not the minute of the first backoff
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("retrying", 1, due)
    [record] = [r for r in caplog.records if r.name == "engine.webhooks.tasks"]
    assert record.getMessage() == (
        f"webhook attempt failed: endpoint crm, message {row['message_id']}, attempt 1:"
        f" HTTP 429; next attempt at {due.isoformat()}"
    )
    assert environ[SECRET_ENV] not in record.getMessage()
    assert "answer 429" not in record.getMessage()  # the body is never logged
    assert counted(registry, "parcours_webhook_attempts_total", outcome="retry") == 1

    clock.advance(timedelta(minutes=59))
    assert send(db_engine, catalog, sender, clock, environ, metrics=metrics) == 0
    clock.advance(timedelta(minutes=1))
    assert send(db_engine, catalog, sender, clock, environ, metrics=metrics) == 1
    assert outbox(db_engine)[0]["status"] == "delivered"
    assert counted(registry, "parcours_webhook_attempts_total", outcome="sent") == 1
    assert len(receiver.hits("/hook")) == 2


def test_a_503_with_an_http_date_waits_until_then_and_the_longest_wait_bounds_any_ask(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    later = clock.now() + timedelta(minutes=20)
    receiver.answers.extend(
        [
            (503, {"Retry-After": format_datetime(later, usegmt=True)}),
            (429, {"Retry-After": "86400"}),
        ]
    )
    track(db_engine, catalog, clock, "sophie", "signed_up")
    longest = timedelta(hours=2)

    assert send(db_engine, catalog, sender, clock, environ, longest_wait=longest) == 1
    assert outbox(db_engine)[0]["next_attempt_at"] == later

    clock.advance(timedelta(minutes=20))
    assert send(db_engine, catalog, sender, clock, environ, longest_wait=longest) == 1
    assert outbox(db_engine)[0]["next_attempt_at"] == clock.now() + longest  # asked a day


def test_retry_after_on_another_status_is_ignored_for_the_backoff(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    receiver.answers.append((500, {"Retry-After": "3600"}))
    track(db_engine, catalog, clock, "sophie", "signed_up")

    assert send(db_engine, catalog, sender, clock, environ) == 1
    wait = outbox(db_engine)[0]["next_attempt_at"] - clock.now()
    assert timedelta(seconds=30) <= wait <= timedelta(minutes=1)  # the first backoff


def test_a_dead_letter_is_logged_and_counted(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.answers.extend([500, 500])
    track(db_engine, catalog, clock, "sophie", "signed_up")
    metrics = DeliveryMetrics(registry)

    with caplog.at_level(logging.WARNING, logger="engine.webhooks.tasks"):
        for _ in range(2):
            send(db_engine, catalog, sender, clock, environ, max_attempts=2, metrics=metrics)
            clock.advance(timedelta(hours=1))

    [row] = outbox(db_engine)
    assert row["status"] == "dead"
    messages = [r.getMessage() for r in caplog.records if r.name == "engine.webhooks.tasks"]
    assert messages[1] == (
        f"webhook attempt failed: endpoint crm, message {row['message_id']}, attempt 2:"
        " gave up after 2 attempts: HTTP 500; dead-lettered"
    )
    assert counted(registry, "parcours_webhook_attempts_total", outcome="retry") == 2
    assert counted(registry, "parcours_webhook_dead_letters_total") == 1
