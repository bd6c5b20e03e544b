"""The webhook outbox on both databases: one message per (endpoint, event) written with
the facts it reports, sent after commit, signed, retried with backoff, dead-lettered."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.store.bulk import BulkWriter
from engine.store.db import write_transaction
from engine.webhooks import repository as repo
from engine.webhooks.events import WebhookEvent
from engine.webhooks.guard import AddressGuard
from engine.webhooks.schemas import EndpointCreate
from engine.webhooks.sender import Attempt, WebhookSender
from engine.webhooks.service import create_endpoint, publish
from engine.webhooks.signing import generate_secret
from engine.webhooks.tasks import LEASE, purge_webhook_history
from tests.webhooks.conftest import SECRET_ENV
from tests.webhooks.helpers import attempt_log, outbox, send, track
from tests.webhooks.receiver import Receiver, verifies


@pytest.fixture
def environ(content_secret: str, receiver: Receiver) -> dict[str, str]:
    receiver.reset(content_secret)
    return {SECRET_ENV: content_secret}


def add_endpoint(engine: Engine, clock: FrozenClock, url: str, *events: str) -> str:
    with write_transaction(engine) as conn:
        created = create_endpoint(conn, EndpointCreate(url=url, events=list(events)), clock.now())
    return created.id


def test_an_event_is_queued_once_per_subscribed_endpoint(
    db_engine: Engine, catalog: Catalog, clock: FrozenClock, receiver: Receiver
) -> None:
    api_id = add_endpoint(db_engine, clock, f"{receiver.url}/hook", "stage.*")
    add_endpoint(db_engine, clock, f"{receiver.url}/hook", "delivery.sent")

    assert track(db_engine, catalog, clock, "sophie", "signed_up") == 2

    rows = outbox(db_engine)
    assert [(r["endpoint_name"], r["endpoint_id"]) for r in rows] == [
        ("crm", None),
        (None, int(api_id)),
    ]
    assert {r["status"] for r in rows} == {"pending"}
    assert rows[0]["payload"] == {
        "type": "stage.entered",
        "timestamp": "2026-03-02T09:00:00Z",
        "data": {"user_id": "sophie", "stage": "signup"},
    }
    assert rows[0]["message_id"] != rows[1]["message_id"]


def test_a_rolled_back_transaction_queues_nothing(
    db_engine: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    event = WebhookEvent("stage.entered", "sophie", {"stage": "signup"})

    def failing_batch() -> None:
        with write_transaction(db_engine) as conn:
            assert publish(conn, catalog, [event], clock.now()) == 1
            raise RuntimeError("the batch failed after publishing")

    with pytest.raises(RuntimeError):
        failing_batch()

    assert outbox(db_engine) == []


def test_a_message_is_delivered_signed_and_logged(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    track(db_engine, catalog, clock, "sophie", "signed_up")

    assert send(db_engine, catalog, sender, clock, environ) == 1
    assert send(db_engine, catalog, sender, clock, environ) == 0

    [request] = receiver.hits("/hook")
    assert request.verified
    assert request.payload["data"] == {"user_id": "sophie", "stage": "signup"}
    assert request.headers["webhook-timestamp"].isdigit()
    [row] = outbox(db_engine)
    assert (row["status"], row["attempts"], row["delivered_at"]) == ("delivered", 1, clock.now())
    assert request.headers["webhook-id"] == row["message_id"]
    [logged] = attempt_log(db_engine)
    assert (logged["outcome"], logged["status_code"], logged["response"]) == (
        "sent",
        200,
        "answer 200",
    )
    assert logged["endpoint_name"] == "crm"
    assert logged["duration_ms"] >= 0


def test_failures_are_retried_with_backoff_on_the_virtual_clock(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    receiver.answers.extend([500, 500])
    track(db_engine, catalog, clock, "sophie", "signed_up")

    assert send(db_engine, catalog, sender, clock, environ) == 1
    [row] = outbox(db_engine)
    assert (row["status"], row["attempts"]) == ("retrying", 1)
    assert row["last_error"] == "HTTP 500: answer 500"
    first_wait = row["next_attempt_at"] - clock.now()
    assert timedelta(seconds=30) <= first_wait <= timedelta(minutes=1)
    assert send(db_engine, catalog, sender, clock, environ) == 0  # not due yet

    clock.advance(first_wait)
    assert send(db_engine, catalog, sender, clock, environ) == 1
    [row] = outbox(db_engine)
    second_wait = row["next_attempt_at"] - clock.now()
    assert timedelta(minutes=1) <= second_wait <= timedelta(minutes=2)

    clock.advance(second_wait)
    assert send(db_engine, catalog, sender, clock, environ) == 1
    [row] = outbox(db_engine)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 3, None)
    requests = receiver.hits("/hook")
    assert [r.verified for r in requests] == [True, True, True]
    assert {r.headers["webhook-id"] for r in requests} == {row["message_id"]}
    assert [a["status_code"] for a in attempt_log(db_engine)] == [500, 500, 200]
    assert [a["outcome"] for a in attempt_log(db_engine)] == ["retry", "retry", "sent"]


def test_a_content_endpoint_signs_with_every_secret_of_its_variable(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    content_secret: str,
) -> None:
    new = generate_secret()
    receiver.reset(new, content_secret)
    track(db_engine, catalog, clock, "sophie", "signed_up")

    send(db_engine, catalog, sender, clock, {SECRET_ENV: f"{new} {content_secret}"})

    [request] = receiver.hits("/hook")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verifies(new, request)
    assert verifies(content_secret, request)


def test_a_missing_secret_is_retried_and_nothing_goes_out_unsigned(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    track(db_engine, catalog, clock, "sophie", "signed_up")

    assert send(db_engine, catalog, sender, clock, {}) == 1

    [row] = outbox(db_engine)
    assert row["status"] == "retrying"
    assert row["last_error"].startswith(f"environment variable {SECRET_ENV}")
    assert receiver.requests == []


def test_a_refused_destination_is_dead_at_once(
    db_engine: Engine, catalog: Catalog, clock: FrozenClock, environ: dict[str, str]
) -> None:
    endpoint = add_endpoint(db_engine, clock, "http://10.0.0.1/hook", "stage.entered")
    track(db_engine, catalog, clock, "sophie", "signed_up")

    with WebhookSender(AddressGuard(allow_private=False)) as guarded:
        send(db_engine, catalog, guarded, clock, environ)

    dead = [r for r in outbox(db_engine) if r["endpoint_id"] == int(endpoint)]
    assert dead[0]["status"] == "dead"
    assert dead[0]["last_error"].startswith("refused: 10.0.0.1 is a private address")


def test_a_crash_mid_send_resends_the_same_message_after_the_lease(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    track(db_engine, catalog, clock, "sophie", "signed_up")
    with write_transaction(db_engine) as conn:  # a worker claims it, then dies
        assert len(repo.claim_messages(BulkWriter(conn), clock.now(), clock.now(), 10)) == 1

    assert send(db_engine, catalog, sender, clock, environ) == 0
    clock.advance(LEASE + timedelta(seconds=1))
    assert send(db_engine, catalog, sender, clock, environ) == 1

    assert outbox(db_engine)[0]["status"] == "delivered"
    assert len(receiver.hits("/hook")) == 1


def test_two_workers_never_send_a_message_twice(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    for user in range(40):
        track(db_engine, catalog, clock, f"user-{user}", "signed_up")

    def work() -> None:
        while send(db_engine, catalog, sender, clock, environ, limit=5) > 0:
            pass

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    ids = [r.headers["webhook-id"] for r in receiver.hits("/hook")]
    assert len(ids) == len(set(ids)) == 40
    assert {r["status"] for r in outbox(db_engine)} == {"delivered"}


def test_erasing_a_profile_erases_its_unsent_messages(
    client: TestClient,
    admin_headers: dict[str, str],
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
) -> None:
    track(db_engine, catalog, clock, "sophie", "signed_up")
    track(db_engine, catalog, clock, "marc", "signed_up")

    assert client.delete("/v1/profiles/sophie", headers=admin_headers).status_code == 200

    assert [r["payload"]["data"]["user_id"] for r in outbox(db_engine)] == ["marc"]


def test_old_history_is_purged_and_pending_messages_are_kept(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    track(db_engine, catalog, clock, "sophie", "signed_up")
    send(db_engine, catalog, sender, clock, environ)
    clock.advance(timedelta(days=31))
    track(db_engine, catalog, clock, "marc", "signed_up")

    assert purge_webhook_history(db_engine, clock) == 1  # its attempts go with it

    assert [(r["payload"]["data"]["user_id"], r["status"]) for r in outbox(db_engine)] == [
        ("marc", "pending")
    ]
    assert attempt_log(db_engine) == []


class DyingSender(WebhookSender):
    """Delivers `sends` messages, then the process dies (as under SIGKILL: nothing after runs)."""

    def __init__(self, sends: int) -> None:
        super().__init__(AddressGuard(allow_private=True), timeout=5.0, concurrency=1)
        self.sends = sends

    def deliver(self, *args: Any, **kwargs: Any) -> Attempt:
        if self.sends == 0:
            raise KeyboardInterrupt  # not an Exception: the task cannot catch it
        self.sends -= 1
        return super().deliver(*args, **kwargs)


def test_a_worker_dying_mid_batch_resends_nothing_it_had_delivered(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    environ: dict[str, str],
) -> None:
    for user in ("ada", "bob", "cy"):
        track(db_engine, catalog, clock, user, "signed_up")
    with DyingSender(sends=2) as dying, pytest.raises(KeyboardInterrupt):
        send(db_engine, catalog, dying, clock, environ)
    assert len(receiver.hits("/hook")) == 2

    clock.advance(LEASE + timedelta(seconds=1))
    assert send(db_engine, catalog, sender, clock, environ) == 3
    rows = outbox(db_engine)
    webhook_ids = [hit.headers["webhook-id"] for hit in receiver.hits("/hook")]
    assert webhook_ids == [row["message_id"] for row in rows]  # each once, in order
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 1)] * 3
