"""Events through the HTTP API move profiles through stages and segments (both backends)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.ingest.repository import events
from engine.pipeline import process_time_passed
from tests.conftest import WRITE_KEY

AUTH = (WRITE_KEY, "")


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


def send(client: TestClient, *messages: dict[str, Any]) -> None:
    response = client.post("/v1/batch", json={"batch": list(messages)}, auth=AUTH)
    assert response.status_code == 200, response.text


def track(user: str, event: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "properties": properties}


def profile(client: TestClient, headers: dict[str, str], user: str) -> dict[str, Any]:
    response = client.get(f"/v1/profiles/{user}", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def internal_events(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """Stage and segment events (flows record experiment exposures too)."""
    query = select(events.c.name, events.c.properties).where(
        events.c.type == "internal", events.c.name.like("s%")
    )
    with engine.connect() as conn:
        return [(name, props) for name, props in conn.execute(query.order_by(events.c.id))]


def test_sophie_moves_through_stages_and_gets_her_persona(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine
) -> None:
    traits = {"role": "marketing_manager", "email_experience": "beginner"}
    send(client, {"type": "identify", "userId": "sophie", "traits": traits})
    send(client, track("sophie", "signed_up"), track("sophie", "logged_in"))
    sophie = profile(client, admin_headers, "sophie")
    assert list(sophie["stages"]) == ["signup", "first_login"]
    assert sophie["persona"] == "beginner_marketer"
    assert [s["segment"] for s in sophie["segments"]] == ["beginner_marketer"]

    send(client, track("sophie", "campaign_sent", is_test=True))
    assert "activation" not in profile(client, admin_headers, "sophie")["stages"]
    send(client, track("sophie", "campaign_sent", is_test=False))
    assert list(profile(client, admin_headers, "sophie")["stages"]) == [
        "signup",
        "first_login",
        "activation",
    ]
    assert internal_events(db_engine) == [
        ("segment_entered", {"segment": "beginner_marketer"}),
        ("stage_entered", {"stage": "signup"}),
        ("stage_entered", {"stage": "first_login"}),
        ("stage_entered", {"stage": "activation"}),
    ]


def test_ordered_stage_waits_for_the_previous_one(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    send(client, track("u", "signed_up"), track("u", "campaign_sent", is_test=False))
    assert list(profile(client, admin_headers, "u")["stages"]) == ["signup"]
    # One event can carry a profile through several stages.
    send(client, track("u", "logged_in"))
    assert list(profile(client, admin_headers, "u")["stages"]) == [
        "signup",
        "first_login",
        "activation",
    ]


def test_independent_stage_and_entry_happens_once(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, clock: FrozenClock
) -> None:
    send(client, track("u", "integration_connected"))
    first = profile(client, admin_headers, "u")["stages"]
    assert list(first) == ["integration"]
    clock.advance(timedelta(hours=3))
    send(client, track("u", "integration_connected"))
    assert profile(client, admin_headers, "u")["stages"] == first
    assert len(internal_events(db_engine)) == 1


def test_retried_batch_records_no_second_internal_event(
    client: TestClient, db_engine: Engine
) -> None:
    batch = [{**track("u", "signed_up"), "messageId": "m-1"}]
    send(client, *batch)
    send(client, *batch)
    assert internal_events(db_engine) == [("stage_entered", {"stage": "signup"})]


def test_persona_follows_priority_and_trait_changes(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    traits = {"role": "marketer", "email_experience": "beginner"}
    send(client, {"type": "identify", "userId": "u", "traits": traits})
    assert profile(client, admin_headers, "u")["persona"] == "beginner_marketer"
    send(client, {"type": "identify", "userId": "u", "traits": {"email_experience": "expert"}})
    body = profile(client, admin_headers, "u")
    assert body["persona"] == "power_user"
    assert [s["segment"] for s in body["segments"]] == ["power_user"]


def test_trial_membership_ends_by_itself_after_14_days(
    client: TestClient,
    admin_headers: dict[str, str],
    db_engine: Engine,
    clock: FrozenClock,
    catalog: Catalog,
) -> None:
    traits = {"plan": "trial", "email": "ana@studio.example"}
    send(client, {"type": "identify", "userId": "ana", "traits": traits})
    send(client, track("ana", "signed_up"))
    assert profile(client, admin_headers, "ana")["persona"] == "trial_evaluator"

    clock.advance(timedelta(days=13))
    assert process_time_passed(db_engine, catalog, clock.now()).segments_exited == 0
    clock.advance(timedelta(days=2))
    result = process_time_passed(db_engine, catalog, clock.now())
    assert result.segments_exited == 1
    body = profile(client, admin_headers, "ana")
    assert body["persona"] is None
    assert body["segments"] == []
    assert internal_events(db_engine)[-1] == ("segment_exited", {"segment": "trial_evaluator"})


def identify(user: str, message_id: str, at: str, **traits: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "userId": user,
        "messageId": message_id,
        "timestamp": at,
        "traits": traits,
    }


def toggles(user: str, at: str) -> list[dict[str, Any]]:
    """In the segment, out, and in again, all at one instant."""
    return [
        identify(user, f"{user}-1", at, role="marketer", email_experience="beginner"),
        identify(user, f"{user}-2", at, role="engineer"),
        identify(user, f"{user}-3", at, role="marketer"),
    ]


def test_segment_left_and_rejoined_at_one_instant_records_each_change(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, clock: FrozenClock
) -> None:
    at = clock.now().isoformat()
    for message in toggles("u", at):  # an SDK flushing after each call
        send(client, message)
    for message in toggles("u", at):  # and retrying them all: nothing changes
        send(client, message)
    assert internal_events(db_engine) == [
        ("segment_entered", {"segment": "beginner_marketer"}),
        ("segment_exited", {"segment": "beginner_marketer"}),
        ("segment_entered", {"segment": "beginner_marketer"}),
    ]
    assert profile(client, admin_headers, "u")["persona"] == "beginner_marketer"


def test_toggling_identifies_in_one_batch_are_stored(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, clock: FrozenClock
) -> None:
    at = clock.now().isoformat()
    send(client, *toggles("u", at))
    send(client, *toggles("u", at))
    # The batch's traits fold into one state: in the segment once.
    assert internal_events(db_engine) == [("segment_entered", {"segment": "beginner_marketer"})]
    send(client, identify("u", "u-4", at, role="engineer"), identify("u", "u-5", at, role="cto"))
    send(client, identify("u", "u-6", at, role="founder"))
    assert [name for name, _ in internal_events(db_engine)] == [
        "segment_entered",
        "segment_exited",
        "segment_entered",
    ]
    assert profile(client, admin_headers, "u")["persona"] == "beginner_marketer"
