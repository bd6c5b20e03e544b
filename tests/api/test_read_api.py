"""Admin read API, health and metrics (both backends)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from engine.api.app import create_app
from engine.catalog.catalog import empty_catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.ingest.repository import events, identities, profiles
from tests.conftest import WRITE_KEY

AUTH = (WRITE_KEY, "")


def seed(client: TestClient, user: str, n: int) -> None:
    batch = [
        {
            "type": "track",
            "userId": user,
            "anonymousId": f"{user}-anon",
            "event": f"e{i % 3}",
            "messageId": f"{user}-{i}",
        }
        for i in range(n)
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=AUTH).status_code == 200


def test_admin_endpoints_need_the_admin_key(client: TestClient) -> None:
    seed(client, "u1", 1)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDo="}):
        response = client.get("/v1/profiles/u1", headers=headers)
        assert response.status_code == 401
        assert set(response.json()) == {"code", "message"}


def test_profile_view(client: TestClient, admin_headers: dict[str, str]) -> None:
    seed(client, "u1", 7)
    profile = client.get("/v1/profiles/u1", headers=admin_headers).json()
    assert profile["event_counts"] == {
        "total": 7,
        "by_type": {"track": 7},
        "by_name": {"e0": 3, "e1": 2, "e2": 2},
    }
    assert profile["anonymous_ids"] == ["u1-anon"]


def test_unknown_profile_is_404_with_code(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.get("/v1/profiles/nobody", headers=admin_headers)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "no profile for user id 'nobody'"}


def test_events_are_paginated_newest_first(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    seed(client, "u1", 25)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/profiles/u1/events", params=params, headers=admin_headers).json()
        seen += [e["message_id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"u1-{i}" for i in reversed(range(25))]


def test_bad_query_parameters_name_the_field(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    seed(client, "u1", 1)
    response = client.get("/v1/profiles/u1/events?limit=0", headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "query.limit"
    response = client.get("/v1/profiles/u1/events?cursor=abc", headers=admin_headers)
    assert response.status_code == 400


def test_erasure_removes_profile_events_and_identities(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine
) -> None:
    seed(client, "u1", 5)
    seed(client, "u2", 2)
    response = client.delete("/v1/profiles/u1", headers=admin_headers)
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "u1",
        "deleted": {
            "dead_letters": 0,
            "events": 5,
            "identities": 2,
            "stage_entries": 0,
            "segment_memberships": 0,
            "profiles": 1,
            "outbox_files": 0,
        },
    }
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(identities)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(profiles)).scalar() == 1
    assert client.get("/v1/profiles/u1", headers=admin_headers).status_code == 404


def test_health_and_unknown_routes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    response = client.get("/v1/batch")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_metrics_are_prometheus_text(client: TestClient, admin_headers: dict[str, str]) -> None:
    seed(client, "u1", 3)
    response = client.get("/metrics", headers=admin_headers)
    assert response.headers["content-type"].startswith("text/plain")
    assert 'parcours_messages_received_total{type="track"} 3.0' in response.text
    assert 'route="/v1/batch",status="200"' in response.text


def test_metrics_need_the_metrics_token_or_the_admin_key(
    settings: Settings, db_engine: Engine, clock: FrozenClock, admin_headers: dict[str, str]
) -> None:
    token = "metrics-token-0123456789abcdef0123"
    app = create_app(
        settings.model_copy(update={"metrics_token": token}),
        engine=db_engine,
        clock=clock,
        catalog=empty_catalog(),
    )
    with TestClient(app) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["code"] == "unauthorized"
            assert "parcours_" not in refused.text
        for headers in ({"Authorization": f"Bearer {token}"}, admin_headers):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 200
            assert "parcours_http_request_duration_seconds" in response.text
