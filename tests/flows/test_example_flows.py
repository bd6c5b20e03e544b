"""The shipped example flows, exercised with the testing kit the way a product team would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine.catalog.catalog import Catalog
from engine.ingest.repository import events
from engine.testing import Simulation

SOPHIE = {
    "email": "sophie@studio.example",
    "first_name": "Sophie",
    "role": "marketing_manager",
    "email_experience": "beginner",
}
MARC = {
    "email": "marc@northwind.example",
    "first_name": "Marc",
    "company": "Northwind",
    "role": "head_of_marketing",
    "email_experience": "intermediate",
}


@pytest.fixture
def sim(example_catalog: Catalog) -> Iterator[Simulation]:
    with Simulation(example_catalog) as simulation:
        yield simulation


def sign_up(sim: Simulation, user: str, traits: dict[str, Any]) -> None:
    sim.identify(user, **traits)
    sim.track(user, "signed_up")
    sim.track(user, "logged_in")


def contents(sim: Simulation, user: str, flow: str) -> list[str]:
    return [d["content"] for d in sim.deliveries(user) if d["flow"] == flow]


def test_welcome_guides_a_beginner_and_nudges_after_two_quiet_days(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE)
    assert sim.emails("sophie")[0]["Subject"] == "Welcome to Postwave, Sophie"
    assert [i["name"] for i in sim.inapp("sophie")] == ["guided-first-campaign"]
    sim.advance("2d")
    assert "start-from-a-template" in contents(sim, "sophie", "welcome")


def test_welcome_gives_a_team_admin_the_team_email(sim: Simulation) -> None:
    sign_up(sim, "marc", MARC)
    assert contents(sim, "marc", "welcome")[:2] == ["welcome", "invite-your-team"]
    subjects = [m["Subject"] for m in sim.emails("marc")]
    assert "Set up Northwind on Postwave together" in subjects


def test_welcome_wait_ends_when_the_campaign_is_created(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE)
    sim.advance("1d")
    sim.track("sophie", "campaign_created")
    sim.advance("2d")
    assert "start-from-a-template" not in contents(sim, "sophie", "welcome")


def test_activation_rescue_picks_the_email_by_progress(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE)
    sign_up(sim, "lea", SOPHIE | {"email": "lea@studio.example", "first_name": "Léa"})
    sim.track("lea", "campaign_created")
    sim.advance("3d")
    assert contents(sim, "sophie", "activation-rescue") == ["need-a-hand"]
    assert contents(sim, "lea", "activation-rescue") == ["finish-your-campaign"]


def test_activation_converts_the_rescue_and_starts_exploration(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE)
    sim.advance("1d")
    sim.track("sophie", "campaign_sent", is_test=False)
    statuses = {r["flow"]: r["status"] for r in sim.journey("sophie")}
    assert statuses["activation-rescue"] == "converted"
    assert statuses["welcome"] == "converted"
    assert statuses["feature-exploration"] == "waiting"
    sim.advance("1d")
    assert contents(sim, "sophie", "feature-exploration") == ["automation-builder"]


def test_feedback_request_respects_the_survey_opt_out(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE | {"survey_opt_out": True})
    sim.track("sophie", "integration_connected")
    (run,) = [r for r in sim.journey("sophie") if r["flow"] == "feedback-request"]
    assert (run["status"], run["end_reason"]) == ("exited", "opted out of surveys")


def test_feedback_request_asks_after_a_week_then_tips(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE)
    sim.track("sophie", "integration_connected")
    sim.advance("7d")
    assert contents(sim, "sophie", "feedback-request") == ["feedback-request"]
    sim.advance("3d")
    assert contents(sim, "sophie", "feedback-request") == [
        "feedback-request",
        "share-your-feedback",
    ]


def test_completing_a_tutorial_is_recorded_once_as_an_event(sim: Simulation) -> None:
    sign_up(sim, "sophie", SOPHIE)
    sim.respond("sophie", "guided-first-campaign", "seen")
    sim.respond("sophie", "guided-first-campaign", "completed")
    assert sim.inapp("sophie") == []
    with sim.engine.connect() as conn:
        names = conn.execute(
            select(events.c.name, events.c.properties).where(events.c.name.like("tutorial_%"))
        ).all()
    assert [(n, p["item"]) for n, p in names] == [
        ("tutorial_seen", "guided-first-campaign"),
        ("tutorial_completed", "guided-first-campaign"),
    ]
