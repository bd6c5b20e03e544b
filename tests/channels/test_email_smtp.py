"""Production email end to end: a real SMTP server (STARTTLS, AUTH), the received message's
headers and parts, the one-click unsubscribe as a mailbox provider sends it, suppression
that survives erasure, and transient/permanent SMTP failures (both backends)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.api.app import create_app
from engine.catalog.catalog import Catalog, load_catalog
from engine.channels.links import email_hash
from engine.channels.smtp import SmtpTransport
from engine.channels.suppressions import suppressions
from engine.clock import FrozenClock
from engine.config import Settings
from engine.flows.repository import deliveries
from engine.store.installation import install_id
from tests.conftest import WRITE_KEY
from tests.flows.content import content_with
from tests.support.smtp import Inbox, smtp_server

FLOW = "flow: f\ntrigger: {event: go}\nreentry: 1m\nsteps: [{email: welcome}]\n"
ADDRESS = "sophie@studio.example"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    content = content_with(tmp_path / "content", f=FLOW)
    (content / "templates" / "emails" / "welcome.html.j2").write_text(
        "<html><head><style>p { color: #123456 }</style></head><body>"
        '<p>Hi {{ traits.first_name }}, <a href="https://app.example/start">start here</a></p>'
        "</body></html>"
    )
    loaded, problems = load_catalog(content)
    assert loaded is not None, problems
    return loaded


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[str, Inbox, Any]]:
    with smtp_server(tmp_path) as server:
        yield server


@pytest.fixture
def app(
    settings: Settings,
    db_engine: Engine,
    clock: FrozenClock,
    catalog: Catalog,
    smtp: tuple[str, Inbox, Any],
) -> FastAPI:
    url, _, tls = smtp
    transport = SmtpTransport(url, settings.email_from, clock, context=tls)
    return create_app(
        settings, engine=db_engine, clock=clock, catalog=catalog, channels={"email": transport}
    )


def trigger(client: TestClient, app: FastAPI, user: str = "sophie") -> None:
    traits = {"email": ADDRESS, "first_name": "Sophie"}
    batch = [
        {"type": "identify", "userId": user, "traits": traits},
        {"type": "track", "userId": user, "event": "go"},
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, "")).status_code == 200
    while app.state.parcours.dispatcher.run_once():
        pass


def statuses(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.status, deliveries.c.reason).order_by(deliveries.c.id)
        )
        return [(s, r) for s, r in rows]


def test_the_received_email_meets_bulk_sender_rules(
    client: TestClient, app: FastAPI, smtp: tuple[str, Inbox, Any]
) -> None:
    trigger(client, app)
    (message,) = smtp[1].messages
    assert message["To"] == ADDRESS
    install = install_id(app.state.parcours.engine)
    assert message["Message-ID"] == f"<delivery-1.{install}@parcours.local>"
    assert len(message.get_all("Message-ID")) == 1
    assert len(message.get_all("List-Unsubscribe")) == 1
    one_click, mailto = (p.strip(" <>") for p in message["List-Unsubscribe"].split(","))
    assert one_click.startswith("http")
    assert "/v1/unsubscribe/" in one_click
    assert mailto.startswith("mailto:unsubscribe@")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    assert "Hi Sophie, start here (https://app.example/start)" in text
    assert f"Unsubscribe: {one_click}" in text
    assert 'style="color: #123456;"' in html
    assert "<style>" not in html
    assert "Unsubscribe</a>" in html
    assert one_click in html.replace("&amp;", "&")
    assert statuses(app.state.parcours.engine) == [("sent", None)]


def test_one_click_unsubscribe_suppresses_at_once_and_survives_erasure(
    client: TestClient,
    app: FastAPI,
    smtp: tuple[str, Inbox, Any],
    admin_headers: dict[str, str],
    clock: FrozenClock,
) -> None:
    from datetime import timedelta

    trigger(client, app)
    one_click = smtp[1].messages[0]["List-Unsubscribe"].split(",")[0].strip(" <>")
    response = client.post(
        urlsplit(one_click).path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert "unsubscribed" in response.text
    engine = app.state.parcours.engine
    with engine.connect() as conn:
        assert conn.execute(select(suppressions.c.email_hash)).scalars().all() == [
            email_hash(ADDRESS)
        ]
    profile = client.get("/v1/profiles/sophie", headers=admin_headers).json()
    assert profile["event_counts"]["by_name"]["unsubscribed"] == 1

    assert client.delete("/v1/profiles/sophie", headers=admin_headers).status_code == 200
    clock.advance(timedelta(minutes=5))
    trigger(client, app, user="sophie-again")  # same address, new profile
    assert len(smtp[1].messages) == 1
    assert statuses(engine)[-1] == ("skipped", "suppressed (unsubscribed)")


def test_a_tampered_unsubscribe_link_is_refused(client: TestClient) -> None:
    response = client.post("/v1/unsubscribe/eyJrIjoidSJ9.AAAA")
    assert response.status_code == 404
    assert response.json()["code"] == "invalid_link"
    page = client.get("/v1/unsubscribe/anything")
    assert page.status_code == 200  # the confirmation page never unsubscribes


def test_smtp_4xx_is_retried_and_5xx_is_permanent(
    client: TestClient, app: FastAPI, smtp: tuple[str, Inbox, Any], clock: FrozenClock
) -> None:
    from datetime import timedelta

    smtp[1].refuse = [(451, "try again later"), (550, "no such mailbox")]
    trigger(client, app)
    assert statuses(app.state.parcours.engine) == [("retrying", "SMTP 451: try again later")]
    clock.advance(timedelta(minutes=1))
    while app.state.parcours.dispatcher.run_once():
        pass
    assert statuses(app.state.parcours.engine) == [("failed", "SMTP 550: no such mailbox")]


def test_a_failing_email_is_logged_at_each_attempt_and_counted(
    client: TestClient,
    app: FastAPI,
    smtp: tuple[str, Inbox, Any],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import timedelta

    smtp[1].refuse = [(451, "try again later"), (550, "no such mailbox")]
    registry = app.state.parcours.metrics.registry
    with caplog.at_level(logging.WARNING, logger="engine.channels.dispatch"):
        trigger(client, app)
        with app.state.parcours.engine.connect() as conn:
            [retrying] = conn.execute(select(deliveries)).mappings()
        clock.advance(timedelta(minutes=1))
        while app.state.parcours.dispatcher.run_once():
            pass

    messages = [r.getMessage() for r in caplog.records if r.name == "engine.channels.dispatch"]
    assert messages == [
        f"email delivery {retrying['id']} failed: flow f, step steps.0, attempt 1:"
        f" SMTP 451: try again later; next attempt at {retrying['next_attempt_at'].isoformat()}",
        f"email delivery {retrying['id']} failed: flow f, step steps.0, attempt 2:"
        " SMTP 550: no such mailbox; given up",
    ]
    attempts = "parcours_delivery_attempts_total"
    assert registry.get_sample_value(attempts, {"channel": "email", "outcome": "retry"}) == 1
    assert registry.get_sample_value(attempts, {"channel": "email", "outcome": "failed"}) == 1
    assert registry.get_sample_value("parcours_delivery_failed_total", {"channel": "email"}) == 1
