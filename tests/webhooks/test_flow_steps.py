"""Flow `webhook` steps through the channel dispatcher: signed like event messages, logged
in their endpoint's delivery log, and behind the same SSRF guard."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog
from engine.channels.base import Channel, Message
from engine.channels.dispatch import Dispatcher
from engine.channels.email import EmailOptions, NotDeliverable
from engine.channels.webhook import WebhookTransport
from engine.clock import FrozenClock
from engine.flows.repository import deliveries
from engine.webhooks.sender import WebhookSender
from engine.webhooks.service import list_attempts
from engine.webhooks.steps import step_message, step_message_id
from engine.webhooks.tasks import StepAttemptLog
from tests.flows.test_dispatch import go
from tests.webhooks.conftest import SECRET_ENV, endpoint_content
from tests.webhooks.receiver import Receiver

FLOW = "flow: f\ntrigger: {event: go}\nsteps: [{webhook: crm}]\n"
OPTIONS = EmailOptions("https://p.example", "link-secret", "unsubscribe@p.example", "t@p.example")


class SigningDispatcher(Dispatcher):
    """The dispatcher with webhook messages built by `step_message`: the one-line change
    docs/webhooks.md asks of engine/channels/dispatch.py."""

    def _message(self, row: Mapping[str, Any], user_id: str, traits: dict[str, Any]) -> Message:
        if row["channel"] != "webhook":
            return super()._message(row, user_id, traits)
        endpoint = self.catalog().endpoints.get(row["content"])
        if endpoint is None:
            raise NotDeliverable(f"endpoint '{row['content']}' is no longer in the catalog")
        return step_message(endpoint, row, user_id, traits)


@pytest.fixture
def catalog(tmp_path: Path, receiver: Receiver) -> Catalog:
    return endpoint_content(tmp_path / "content", f"{receiver.url}/hook", events="[]", f=FLOW)


def dispatcher(
    engine: Engine, catalog: Catalog, clock: FrozenClock, channel: Channel
) -> Dispatcher:
    channels = {"webhook": channel}
    return SigningDispatcher(
        engine, lambda: catalog, channels, clock, OPTIONS, rng=random.Random(3)
    )


def delivery(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(deliveries)).mappings().one())


def test_a_webhook_step_is_signed_and_logged_under_its_endpoint(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
    content_secret: str,
) -> None:
    receiver.reset(content_secret)
    receiver.answers.append(502)
    transport = WebhookTransport(
        sender=sender,
        attempts=StepAttemptLog(db_engine, clock),
        environ={SECRET_ENV: content_secret},
    )
    steps = dispatcher(db_engine, catalog, clock, transport)
    go(db_engine, catalog, clock, "sophie")

    steps.run_once()
    clock.advance(timedelta(minutes=1))
    steps.run_once()

    row = delivery(db_engine)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    first, second = receiver.hits("/hook")
    assert first.verified
    assert second.verified
    assert second.payload["type"] == "flow.step"
    assert second.payload["data"]["user_id"] == "sophie"
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == step_message_id(row)
    with db_engine.connect() as conn:
        log = list_attempts(conn, catalog, "crm", 10, None).data
    assert [(a.status_code, a.delivery_id, a.event_type) for a in log] == [
        (200, row["id"], "flow.step"),
        (502, row["id"], "flow.step"),
    ]


def test_a_webhook_step_without_its_secret_waits_instead_of_going_unsigned(
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    steps = dispatcher(db_engine, catalog, clock, WebhookTransport(sender=sender, environ={}))
    go(db_engine, catalog, clock, "sophie")

    steps.run_once()

    row = delivery(db_engine)
    assert row["status"] == "retrying"
    assert row["reason"].startswith(f"environment variable {SECRET_ENV} ")
    assert receiver.requests == []


def test_the_channel_as_registered_today_refuses_internal_addresses(
    db_engine: Engine, catalog: Catalog, clock: FrozenClock, receiver: Receiver, content_secret: str
) -> None:
    """The dispatcher and channel exactly as engine.channels.registry builds them today:
    the guard checks every request, although the client given knows nothing of it."""
    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        channels = {"webhook": WebhookTransport(client, environ={SECRET_ENV: content_secret})}
        steps = Dispatcher(
            db_engine, lambda: catalog, channels, clock, OPTIONS, rng=random.Random(3)
        )
        go(db_engine, catalog, clock, "sophie")
        steps.run_once()

    row = delivery(db_engine)
    assert row["status"] == "failed"
    assert row["reason"].startswith("refused: 127.0.0.1 is a loopback address")
    assert receiver.requests == []
