"""The runtime end to end over real HTTP: events start flows, the browser reads and answers
in-app items with its user hash, and the journey explains everything (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from engine.catalog.catalog import Catalog
from engine.inapp.service import user_hash
from tests.conftest import ADMIN_KEY, WRITE_KEY
from tests.support.server import live_server

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SOPHIE = {
    "email": "sophie@studio.example",
    "first_name": "Sophie",
    "role": "marketing_manager",
    "email_experience": "beginner",
}


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


@pytest.fixture
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def batch(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"batch": list(messages)}


def signup(user: str) -> dict[str, Any]:
    return batch(
        {"type": "identify", "userId": user, "traits": SOPHIE, "messageId": f"{user}-1"},
        {"type": "track", "userId": user, "event": "signed_up", "messageId": f"{user}-2"},
    )


def test_signup_starts_welcome_and_the_browser_completes_the_tutorial(
    http: httpx.Client, app: FastAPI
) -> None:
    assert http.post("/v1/batch", json=signup("sophie"), auth=(WRITE_KEY, "")).status_code == 200
    secret = app.state.parcours.settings.inapp_secret
    browser = {"X-User-Hash": user_hash(secret, "sophie")}
    items = http.get("/v1/inapp/sophie", headers=browser, auth=(WRITE_KEY, "")).json()["items"]
    assert [(i["kind"], i["name"]) for i in items] == [("tutorial", "guided-first-campaign")]
    assert len(items[0]["steps"]) == 3

    done = http.post(
        f"/v1/inapp/sophie/{items[0]['id']}/completed", headers=browser, auth=(WRITE_KEY, "")
    )
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert http.get("/v1/inapp/sophie", headers=browser, auth=(WRITE_KEY, "")).json() == {
        "items": []
    }

    journey = http.get("/v1/profiles/sophie/journey", headers=ADMIN).json()["runs"]
    (welcome,) = [r for r in journey if r["flow"] == "welcome"]
    assert welcome["status"] == "waiting"
    assert [d["content"] for d in welcome["deliveries"]] == ["welcome", "guided-first-campaign"]
    assert welcome["timers"][0]["step"] == "steps.3"
    outcomes = [(s["kind"], s["outcome"]) for s in welcome["steps"]]
    assert ("by_segment", "beginner_marketer") in outcomes
    assert ("tutorial", "delivered") in outcomes


def test_another_users_items_need_their_own_hash(http: httpx.Client, app: FastAPI) -> None:
    http.post("/v1/batch", json=signup("sophie"), auth=(WRITE_KEY, ""))
    secret = app.state.parcours.settings.inapp_secret
    forged = {"X-User-Hash": user_hash(secret, "mallory")}
    response = http.get("/v1/inapp/sophie", headers=forged, auth=(WRITE_KEY, ""))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    no_key = http.get("/v1/inapp/sophie", params={"user_hash": user_hash(secret, "sophie")})
    assert no_key.status_code == 401
    query_auth = http.get(
        "/v1/inapp/sophie",
        params={"user_hash": user_hash(secret, "sophie"), "write_key": WRITE_KEY},
    )
    assert query_auth.status_code == 200


def test_a_retried_batch_never_triggers_twice(http: httpx.Client) -> None:
    for _ in range(3):
        assert (
            http.post("/v1/batch", json=signup("sophie"), auth=(WRITE_KEY, "")).status_code == 200
        )
    runs = http.get("/v1/profiles/sophie/journey", headers=ADMIN).json()["runs"]
    assert sorted(r["flow"] for r in runs) == ["welcome"]
    (welcome,) = runs
    assert len(welcome["deliveries"]) == 2


def test_unknown_outcome_and_item_are_clear_errors(http: httpx.Client, app: FastAPI) -> None:
    http.post("/v1/batch", json=signup("sophie"), auth=(WRITE_KEY, ""))
    secret = app.state.parcours.settings.inapp_secret
    browser = {"X-User-Hash": user_hash(secret, "sophie")}
    bad = http.post("/v1/inapp/sophie/1/liked", headers=browser, auth=(WRITE_KEY, ""))
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "path.outcome"
    missing = http.post("/v1/inapp/sophie/999/seen", headers=browser, auth=(WRITE_KEY, ""))
    assert missing.status_code == 404


def test_an_item_is_addressed_by_its_name_as_well_as_its_id(
    http: httpx.Client, app: FastAPI
) -> None:
    http.post("/v1/batch", json=signup("sophie"), auth=(WRITE_KEY, ""))
    secret = app.state.parcours.settings.inapp_secret
    browser = {"X-User-Hash": user_hash(secret, "sophie")}
    (item,) = http.get("/v1/inapp/sophie", headers=browser, auth=(WRITE_KEY, "")).json()["items"]

    seen = http.post(
        "/v1/inapp/sophie/guided-first-campaign/seen", headers=browser, auth=(WRITE_KEY, "")
    )
    assert seen.status_code == 200, seen.text
    assert (seen.json()["id"], seen.json()["status"]) == (item["id"], "seen")
    done = http.post(
        f"/v1/inapp/sophie/{item['id']}/completed", headers=browser, auth=(WRITE_KEY, "")
    )
    assert done.json()["status"] == "completed"
    unknown = http.post("/v1/inapp/sophie/no-such-tip/seen", headers=browser, auth=(WRITE_KEY, ""))
    assert unknown.status_code == 404
    assert "no-such-tip" in unknown.json()["message"]
    profile = http.get("/v1/profiles/sophie", headers=ADMIN).json()
    assert profile["event_counts"]["by_name"]["tutorial_seen"] == 1
