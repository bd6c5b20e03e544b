"""The webhook admin API over HTTP, on both databases: endpoints, delivery logs, dead
letters and replay, secret rotation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.store.db import write_transaction
from engine.webhooks.events import WebhookEvent
from engine.webhooks.sender import WebhookSender
from engine.webhooks.service import publish
from tests.webhooks.helpers import outbox, send
from tests.webhooks.receiver import Receiver, verifies

BASE = "/v1/webhooks"


def create(client: TestClient, headers: dict[str, str], receiver: Receiver, **body: Any) -> Any:
    # segment events: the content endpoint `crm` subscribes to stage events only
    body = {"url": f"{receiver.url}/hook", "events": ["segment.*"]} | body
    answer = client.post(f"{BASE}/endpoints", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def publish_one(engine: Engine, catalog: Catalog, clock: FrozenClock) -> None:
    event = WebhookEvent("segment.entered", "sophie", {"segment": "beginner"})
    with write_transaction(engine) as conn:
        publish(conn, catalog, [event], clock.now())


def test_endpoints_are_created_listed_and_deleted(
    client: TestClient, admin_headers: dict[str, str], receiver: Receiver
) -> None:
    created = create(client, admin_headers, receiver, description="CRM sync")
    assert created["secret"].startswith("whsec_")
    assert created["id"].isdigit()

    listed = client.get(f"{BASE}/endpoints", headers=admin_headers).json()["data"]
    assert [(e["id"], e["source"]) for e in listed] == [("crm", "content"), (created["id"], "api")]
    assert listed[0]["secret_env"] == "PARCOURS_TEST_CRM_SECRET"
    assert all("secret" not in e for e in listed)
    one = client.get(f"{BASE}/endpoints/{created['id']}", headers=admin_headers).json()
    assert (one["description"], one["events"], one["signed"]) == (
        "CRM sync",
        ["segment.*"],
        True,
    )

    assert (
        client.delete(f"{BASE}/endpoints/{created['id']}", headers=admin_headers).status_code == 204
    )
    gone = client.get(f"{BASE}/endpoints/{created['id']}", headers=admin_headers)
    assert gone.status_code == 404
    assert gone.json() == {"code": "not_found", "message": f"no webhook endpoint '{created['id']}'"}


def test_content_endpoints_are_edited_in_content(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = client.delete(f"{BASE}/endpoints/crm", headers=admin_headers)

    assert answer.status_code == 409
    assert answer.json()["code"] == "conflict"
    rotate = client.post(f"{BASE}/endpoints/crm/rotate-secret", json={}, headers=admin_headers)
    assert "space-separated, in PARCOURS_TEST_CRM_SECRET" in rotate.json()["message"]


def test_invalid_endpoints_are_refused_with_the_field_named(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    cases = [
        ({"url": "ftp://x.example/h"}, "body.url"),
        ({"url": "https://x.example/h", "events": ["stage.entred"]}, "unknown webhook event"),
        ({"url": "https://x.example/h", "secret": "whsec_c2hvcnQ="}, "24 to 64 bytes"),
    ]
    for body, expected in cases:
        answer = client.post(f"{BASE}/endpoints", json=body, headers=admin_headers)
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_request"
        assert expected in answer.json()["message"]


def test_the_webhook_api_needs_the_admin_key(client: TestClient) -> None:
    answer = client.get(f"{BASE}/endpoints")

    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_a_dead_message_is_listed_with_its_attempts_and_replayed(
    client: TestClient,
    admin_headers: dict[str, str],
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    endpoint = create(client, admin_headers, receiver)
    receiver.reset(endpoint["secret"])
    receiver.answers.extend([503, 503, 503])
    publish_one(db_engine, catalog, clock)
    for _ in range(3):
        send(db_engine, catalog, sender, clock, {}, max_attempts=3)
        clock.advance(timedelta(hours=7))

    dead = client.get(f"{BASE}/messages", params={"status": "dead"}, headers=admin_headers)
    [message] = dead.json()["data"]
    assert (message["endpoint"], message["attempts"]) == (endpoint["id"], 3)
    assert message["last_error"] == "gave up after 3 attempts: HTTP 503: answer 503"
    log = client.get(f"{BASE}/endpoints/{endpoint['id']}/attempts", headers=admin_headers)
    assert [(a["status_code"], a["response"]) for a in log.json()["data"]] == [
        (503, "answer 503")
    ] * 3
    assert {a["message_id"] for a in log.json()["data"]} == {message["id"]}

    replayed = client.post(f"{BASE}/messages/{message['id']}/replay", headers=admin_headers)
    assert (replayed.status_code, replayed.json()["status"]) == (200, "pending")
    again = client.post(f"{BASE}/messages/{message['id']}/replay", headers=admin_headers)
    assert again.status_code == 409
    assert send(db_engine, catalog, sender, clock, {}) == 1

    assert outbox(db_engine)[0]["status"] == "delivered"
    requests = receiver.hits("/hook")
    assert len(requests) == 4
    assert all(r.verified for r in requests)
    assert {r.headers["webhook-id"] for r in requests} == {message["id"]}


def test_every_dead_message_of_an_endpoint_is_replayed_at_once(
    client: TestClient,
    admin_headers: dict[str, str],
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    endpoint = create(client, admin_headers, receiver)
    receiver.answers.extend([404, 404])
    publish_one(db_engine, catalog, clock)
    publish_one(db_engine, catalog, clock)
    send(db_engine, catalog, sender, clock, {})  # 404 is permanent: dead at once

    answer = client.post(f"{BASE}/endpoints/{endpoint['id']}/replay", headers=admin_headers)

    assert answer.json() == {"replayed": 2}
    assert send(db_engine, catalog, sender, clock, {}) == 2
    assert client.post(f"{BASE}/messages/msg_nope/replay", headers=admin_headers).status_code == 404


def test_a_rotated_secret_signs_alongside_the_old_one_until_the_overlap_ends(
    client: TestClient,
    admin_headers: dict[str, str],
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    endpoint = create(client, admin_headers, receiver)
    path = f"{BASE}/endpoints/{endpoint['id']}/rotate-secret"
    rotated = client.post(path, json={"overlap_hours": 1}, headers=admin_headers).json()
    old, new = endpoint["secret"], rotated["secret"]
    assert new != old
    assert rotated["previous_secret_expires_at"] is not None

    publish_one(db_engine, catalog, clock)
    send(db_engine, catalog, sender, clock, {})
    clock.advance(timedelta(hours=2))
    publish_one(db_engine, catalog, clock)
    send(db_engine, catalog, sender, clock, {})

    during, after = receiver.hits("/hook")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old, during)
    assert verifies(new, during)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verifies(new, after)
    assert not verifies(old, after)


def test_the_delivery_log_is_paginated_newest_first(
    client: TestClient,
    admin_headers: dict[str, str],
    db_engine: Engine,
    catalog: Catalog,
    clock: FrozenClock,
    receiver: Receiver,
    sender: WebhookSender,
) -> None:
    endpoint = create(client, admin_headers, receiver)
    receiver.answers.append(500)
    publish_one(db_engine, catalog, clock)
    send(db_engine, catalog, sender, clock, {})
    clock.advance(timedelta(hours=1))
    send(db_engine, catalog, sender, clock, {})
    path = f"{BASE}/endpoints/{endpoint['id']}/attempts"

    first = client.get(path, params={"limit": 1}, headers=admin_headers).json()
    second = client.get(
        path, params={"limit": 1, "cursor": first["next_cursor"]}, headers=admin_headers
    ).json()

    assert [a["status_code"] for a in first["data"] + second["data"]] == [200, 500]
    assert first["data"][0]["outcome"] == "sent"
    assert client.get(f"{BASE}/endpoints/nope/attempts", headers=admin_headers).status_code == 404
