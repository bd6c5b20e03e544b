"""The Tracking API through the real app and database (both backends)."""

from __future__ import annotations

import base64
import gzip
from datetime import timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from engine.clock import FrozenClock
from engine.ingest.repository import dead_letters, events
from tests.conftest import ADMIN_KEY, START, WRITE_KEY

AUTH = (WRITE_KEY, "")


def track(user: str, event: str, message_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "messageId": message_id, **extra}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_batch_answers_exactly_200_success(client: TestClient, db_engine: Engine) -> None:
    batch = [track("u1", "signed_up", "m1"), track("u1", "campaign_created", "m2")]
    response = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)
    assert response.status_code == 200
    assert response.content == b'{"success":true}'
    assert count(db_engine, events) == 2


def test_write_key_in_body_is_accepted(client: TestClient, db_engine: Engine) -> None:
    body = {"batch": [track("u1", "e", "m1")], "writeKey": WRITE_KEY}
    assert client.post("/v1/batch", json=body).status_code == 200
    assert count(db_engine, events) == 1


def test_wrong_or_missing_write_key_is_401_with_code_and_message(
    client: TestClient, db_engine: Engine
) -> None:
    body = {"batch": [track("u1", "e", "m1")]}
    for kwargs in ({}, {"auth": ("wrong", "")}, {"headers": {"Authorization": "Bearer x"}}):
        response = client.post("/v1/batch", json=body, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert "write key" in response.json()["message"] or "Basic" in response.json()["message"]
    assert client.post("/v1/batch", json={**body, "writeKey": "nope"}).status_code == 401
    assert count(db_engine, events) == 0


def test_same_batch_twice_is_stored_once(client: TestClient, db_engine: Engine) -> None:
    batch = [track("u1", "e", f"m{i}") for i in range(10)]
    for _ in range(2):
        assert client.post("/v1/batch", json={"batch": batch}, auth=AUTH).status_code == 200
    assert count(db_engine, events) == 10
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).text
    assert "parcours_events_stored_total 10.0" in metrics
    assert "parcours_events_duplicate_total 10.0" in metrics


def test_duplicate_message_id_inside_one_batch(client: TestClient, db_engine: Engine) -> None:
    batch = [track("u1", "e", "same"), track("u1", "e", "same")]
    assert client.post("/v1/batch", json={"batch": batch}, auth=AUTH).status_code == 200
    assert count(db_engine, events) == 1


def test_gzip_body(client: TestClient, db_engine: Engine) -> None:
    body = gzip.compress(orjson.dumps({"batch": [track("u1", "e", "m1")]}))
    response = client.post(
        "/v1/batch", content=body, auth=AUTH, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert count(db_engine, events) == 1


def test_corrupt_gzip_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/batch", content=b"not gzip", auth=AUTH, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_gzip"


def test_oversized_batch_and_call_are_413(client: TestClient, db_engine: Engine) -> None:
    big = "x" * 1000
    batch = [track("u1", "e", f"m{i}", properties={"p": big}) for i in range(4300)]
    response = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)
    assert response.status_code == 413
    assert "4096 KB" in response.json()["message"]
    single = track("u1", "e", "m1", properties={"p": "x" * 33_000})
    response = client.post("/v1/track", json=single, auth=AUTH)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert count(db_engine, events) == 0


def test_gzip_bomb_is_413(client: TestClient) -> None:
    payload = b'{"batch": [' + b" " * (5 * 1024 * 1024) + b"]}"
    response = client.post(
        "/v1/batch",
        content=gzip.compress(payload),
        auth=AUTH,
        headers={"Content-Encoding": "gzip"},
    )
    assert response.status_code == 413


def test_batch_just_under_4mb_is_accepted(client: TestClient, db_engine: Engine) -> None:
    batch = [track("u1", "e", f"m{i}", properties={"p": "x" * 1000}) for i in range(3600)]
    body = orjson.dumps({"batch": batch})
    assert 3.5 * 1024 * 1024 < len(body) < 4 * 1024 * 1024
    assert client.post("/v1/batch", content=body, auth=AUTH).status_code == 200
    assert count(db_engine, events) == 3600


def test_partial_batch_stores_valid_items_and_dead_letters_the_rest(
    client: TestClient, db_engine: Engine, admin_headers: dict[str, str]
) -> None:
    batch = [
        track("u1", "ok", "m0"),
        {"type": "track", "userId": "u1", "messageId": "m1"},
        track("u1", "ok", "m2"),
        {"type": "track", "event": "no-user", "messageId": "m3"},
        {"type": "launch", "userId": "u1"},
        track("u1", "ok", "m5", timestamp="yesterday"),
    ]
    response = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_items"
    assert body["message"].startswith("4 of 6 messages were rejected")
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "batch[1].event"),
        (3, "batch[3].userId"),
        (4, "batch[4].type"),
        (5, "batch[5].timestamp"),
    ]
    assert count(db_engine, events) == 2
    letters = client.get("/v1/dead-letters", headers=admin_headers).json()["data"]
    assert sorted(d["item_index"] for d in letters) == [1, 3, 4, 5]
    by_index = {d["item_index"]: d for d in letters}
    assert by_index[4]["payload"] == {"type": "launch", "userId": "u1"}
    assert by_index[4]["errors"][0]["message"].startswith("unknown type 'launch'")


def test_single_call_error_names_the_field(client: TestClient, db_engine: Engine) -> None:
    response = client.post("/v1/track", json={"userId": "u1", "properties": []}, auth=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_message"
    assert {e["field"] for e in body["errors"]} == {"event", "properties"}
    assert count(db_engine, dead_letters) == 1


def test_invalid_json_is_400_and_kept_raw(
    client: TestClient, db_engine: Engine, admin_headers: dict[str, str]
) -> None:
    response = client.post("/v1/batch", content=b'{"batch": [', auth=AUTH)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_json", "message": "body is not valid JSON"}
    letter = client.get("/v1/dead-letters", headers=admin_headers).json()["data"][0]
    assert letter["raw"] == '{"batch": ['
    response = client.post("/v1/batch", content=b"[1, 2]", auth=AUTH)
    assert response.json()["message"] == "body must be a JSON object"


def test_batch_that_is_not_a_list_is_400(client: TestClient) -> None:
    response = client.post("/v1/batch", json={"batch": {"type": "track"}}, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "batch"


def test_every_single_call_endpoint(client: TestClient, admin_headers: dict[str, str]) -> None:
    calls = {
        "identify": {"userId": "u1", "traits": {"plan": "trial"}},
        "track": {"userId": "u1", "event": "campaign_created"},
        "page": {"userId": "u1", "name": "Pricing", "category": "marketing"},
        "screen": {"userId": "u1", "name": "Home"},
        "group": {"userId": "u1", "groupId": "acme", "traits": {"seats": 5}},
        "alias": {"userId": "u1", "previousId": "legacy-42"},
    }
    for kind, body in calls.items():
        response = client.post(f"/v1/{kind}", json=body, auth=AUTH)
        assert response.status_code == 200, (kind, response.text)
    profile = client.get("/v1/profiles/u1", headers=admin_headers).json()
    assert profile["event_counts"]["by_type"] == {
        "identify": 1,
        "track": 1,
        "page": 1,
        "screen": 1,
        "group": 1,
        "alias": 1,
    }
    page = client.get("/v1/profiles/u1/events", headers=admin_headers).json()["data"]
    pricing = next(e for e in page if e["type"] == "page")
    assert pricing["name"] == "Pricing"
    assert pricing["properties"] == {"category": "marketing"}
    assert client.get("/v1/profiles/legacy-42", headers=admin_headers).json()["user_id"] == "u1"


def test_identify_merges_traits_including_context_traits(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/v1/identify", json={"userId": "u1", "traits": {"a": 1, "b": 1}}, auth=AUTH)
    client.post(
        "/v1/identify",
        json={"userId": "u1", "context": {"traits": {"b": 2, "c": 3}}, "traits": {"c": 4}},
        auth=AUTH,
    )
    traits = client.get("/v1/profiles/u1", headers=admin_headers).json()["traits"]
    assert traits == {"a": 1, "b": 2, "c": 4}


def test_anonymous_activity_is_attached_on_identify(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    anon = [
        {"type": "page", "anonymousId": "anon-1", "name": "Home", "messageId": "a1"},
        {"type": "track", "anonymousId": "anon-1", "event": "pricing_viewed", "messageId": "a2"},
        {"type": "identify", "anonymousId": "anon-1", "traits": {"ref": "ad"}, "messageId": "a3"},
    ]
    client.post("/v1/batch", json={"batch": anon}, auth=AUTH)
    identify = {"userId": "sophie", "anonymousId": "anon-1", "traits": {"role": "marketer"}}
    assert client.post("/v1/identify", json=identify, auth=AUTH).status_code == 200
    profile = client.get("/v1/profiles/sophie", headers=admin_headers).json()
    assert profile["anonymous_ids"] == ["anon-1"]
    assert profile["event_counts"]["total"] == 4
    assert profile["traits"] == {"ref": "ad", "role": "marketer"}
    # The anonymous id now answers for the same profile.
    assert client.get("/v1/profiles/anon-1", headers=admin_headers).json()["user_id"] == "sophie"


def test_anonymous_profile_merges_into_existing_user(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/v1/track", json={"userId": "sophie", "event": "signed_up"}, auth=AUTH)
    client.post("/v1/track", json={"anonymousId": "phone", "event": "app_opened"}, auth=AUTH)
    client.post(
        "/v1/track",
        json={"userId": "sophie", "anonymousId": "phone", "event": "logged_in"},
        auth=AUTH,
    )
    profile = client.get("/v1/profiles/sophie", headers=admin_headers).json()
    assert profile["event_counts"]["by_name"] == {"signed_up": 1, "app_opened": 1, "logged_in": 1}


def test_shared_device_does_not_merge_two_users(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/v1/track", json={"userId": "a", "anonymousId": "kiosk", "event": "x"}, auth=AUTH)
    client.post("/v1/track", json={"userId": "b", "anonymousId": "kiosk", "event": "y"}, auth=AUTH)
    a = client.get("/v1/profiles/a", headers=admin_headers).json()
    b = client.get("/v1/profiles/b", headers=admin_headers).json()
    assert a["event_counts"]["total"] == 1
    assert b["event_counts"]["total"] == 1


def test_alias_merges_two_known_users(client: TestClient, admin_headers: dict[str, str]) -> None:
    client.post("/v1/identify", json={"userId": "old", "traits": {"x": 1}}, auth=AUTH)
    client.post("/v1/identify", json={"userId": "new", "traits": {"y": 2}}, auth=AUTH)
    client.post("/v1/alias", json={"userId": "new", "previousId": "old"}, auth=AUTH)
    profile = client.get("/v1/profiles/old", headers=admin_headers).json()
    assert profile["user_id"] == "new"
    assert profile["traits"] == {"x": 1, "y": 2}
    assert profile["event_counts"]["total"] == 3


def test_skew_correction_with_sent_at(
    client: TestClient, clock: FrozenClock, admin_headers: dict[str, str]
) -> None:
    # The device clock is 3 hours fast; the event waited 10 s on the device before sending.
    device_event = START + timedelta(hours=3) - timedelta(seconds=10)
    body = {
        "sentAt": (START + timedelta(hours=3)).isoformat(),
        "batch": [track("u1", "e", "m1", timestamp=device_event.isoformat())],
    }
    client.post("/v1/batch", json=body, auth=AUTH)
    event = client.get("/v1/profiles/u1/events", headers=admin_headers).json()["data"][0]
    assert event["timestamp"] == "2026-03-02T08:59:50Z"
    assert event["received_at"] == "2026-03-02T09:00:00Z"


def test_timestamp_offsets_are_normalised_to_utc(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = track("u1", "e", "m1", timestamp="2026-03-01T10:00:00+02:00")
    client.post("/v1/track", json=body, auth=AUTH)
    event = client.get("/v1/profiles/u1/events", headers=admin_headers).json()["data"][0]
    assert event["timestamp"] == "2026-03-01T08:00:00Z"
    naive = track("u1", "e", "m2", timestamp="2026-03-01T10:00:00")
    response = client.post("/v1/track", json=naive, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "timestamp"


def test_numeric_user_id_is_a_string(client: TestClient, admin_headers: dict[str, str]) -> None:
    client.post("/v1/track", json={"userId": 42, "event": "e"}, auth=AUTH)
    assert client.get("/v1/profiles/42", headers=admin_headers).json()["user_id"] == "42"


def test_basic_auth_header_must_be_well_formed(client: TestClient) -> None:
    garbage = {"Authorization": "Basic !!!"}
    response = client.post("/v1/track", json={"userId": "u", "event": "e"}, headers=garbage)
    assert response.status_code == 401
    encoded = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    response = client.post(
        "/v1/track",
        json={"userId": "u", "event": "e"},
        headers={"Authorization": f"Basic {encoded}"},
    )
    assert response.status_code == 200
