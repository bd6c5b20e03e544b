"""The runtime through the testing kit: triggers, audience, re-entry, goals, exits, skips,
versions and schedules, with real SQLite, timers and dispatcher on a virtual clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.ingest.repository import events
from engine.testing import Simulation
from tests.flows.content import content_with

BEGINNER = {
    "email": "sophie@studio.example",
    "email_experience": "beginner",
    "first_name": "Sophie",
}


def sim_with(tmp_path: Path, **flows: str) -> Simulation:
    return Simulation(content_with(tmp_path / "content", **flows))


def runs(sim: Simulation, user: str) -> list[tuple[str, str, str | None]]:
    return [(r["flow"], r["status"], r["end_reason"]) for r in sim.journey(user)]


def test_event_trigger_with_property_filter(tmp_path: Path) -> None:
    flow = (
        "flow: f\ntrigger: {event: plan_changed, where: {plan: pro}}\nsteps: [{tip: shortcuts}]\n"
    )
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "plan_changed", plan="starter")
        assert runs(sim, "u") == []
        sim.track("u", "plan_changed", plan="pro")
        assert runs(sim, "u") == [("f", "completed", "all steps done")]
        assert sim.delivered("u", content="shortcuts")


def test_segment_trigger_and_audience_skip_is_explained(tmp_path: Path) -> None:
    flows = {
        "seg": "flow: seg\ntrigger: {segment: beginner}\nsteps: [{tip: shortcuts}]\n",
        "aud": (
            "flow: aud\ntrigger: {event: signed_up}\naudience: [power]\nsteps: [{tip: shortcuts}]\n"
        ),
    }
    with sim_with(tmp_path, **flows) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "signed_up")
        sim.track("u", "signed_up")
        assert sorted(runs(sim, "u")) == [
            ("aud", "skipped", "not in audience"),  # recorded once, not per event
            ("seg", "completed", "all steps done"),
        ]


def test_segment_flipped_back_and_forth_without_advancing_the_clock(tmp_path: Path) -> None:
    flow = "flow: seg\ntrigger: {segment: beginner}\nsteps: [{tip: shortcuts}]\n"
    with sim_with(tmp_path, seg=flow) as sim:
        for experience in ["beginner", "expert", "beginner", "expert", "beginner"]:
            sim.identify("u", email_experience=experience)
        assert runs(sim, "u") == [("seg", "completed", "all steps done")]
        query = select(events.c.name, events.c.properties["segment"].as_string())
        with sim.engine.connect() as conn:
            changes = conn.execute(
                query.where(events.c.name.like("segment_%")).order_by(events.c.id)
            ).all()
        beginner = [name for name, segment in changes if segment == "beginner"]
        power = [name for name, segment in changes if segment == "power"]
        assert beginner == ["segment_entered", "segment_exited"] * 2 + ["segment_entered"]
        assert power == ["segment_entered", "segment_exited"] * 2


def test_reentry_once_by_default_or_after_a_duration(tmp_path: Path) -> None:
    flows = {
        "once": "flow: once\ntrigger: {event: ping}\nsteps: [{tip: shortcuts}]\n",
        "again": "flow: again\ntrigger: {event: ping}\nreentry: 30d\nsteps: [{tip: shortcuts}]\n",
    }
    with sim_with(tmp_path, **flows) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "ping")
        sim.advance("10d")
        sim.track("u", "ping")
        assert sorted(r[0] for r in runs(sim, "u")) == ["again", "once"]
        sim.advance("21d")
        sim.track("u", "ping")
        assert sorted(r[0] for r in runs(sim, "u")) == ["again", "again", "once"]


def test_goal_ends_the_run_as_converted_before_the_next_step(tmp_path: Path) -> None:
    flow = (
        "flow: f\ntrigger: {stage: signup}\ngoal: {stage: activation, within: 14d}\n"
        "steps:\n  - wait: 2d\n  - email: welcome\n"
    )
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "signed_up")
        sim.advance("1d")
        sim.track("u", "campaign_sent")
        sim.advance("3d")
        assert runs(sim, "u") == [("f", "converted", "goal reached")]
        assert not sim.delivered("u", content="welcome")
        assert sim.journey("u")[0]["timers"] == []


def test_goal_reached_after_the_last_step_converts_the_run(tmp_path: Path) -> None:
    flow = (
        "flow: f\ntrigger: {stage: signup}\ngoal: {stage: activation, within: 3d}\n"
        "steps:\n  - email: welcome\n"
    )
    with sim_with(tmp_path, f=flow) as sim:
        for user in ("early", "late"):
            sim.identify(user, **BEGINNER)
            sim.track(user, "signed_up")
        sim.advance("2d")
        sim.track("early", "campaign_sent")  # inside the window, after the only step
        sim.advance("2d")
        sim.track("late", "campaign_sent")  # the window closed
        (early,), (late,) = sim.journey("early"), sim.journey("late")
        assert (early["status"], early["end_reason"]) == ("completed", "all steps done")
        assert early["converted_at"] == sim.start + timedelta(days=2)
        assert (late["status"], late["converted_at"]) == ("completed", None)
        assert "flow       f: goal reached (after the run ended)" in "\n".join(
            sim.timeline("early")
        )
        sim.track("early", "campaign_sent")  # converts once
        assert [s["outcome"] for s in sim.journey("early")[0]["steps"]].count("goal reached") == 1


def test_a_trait_goal_converts_an_ended_run_on_identify(tmp_path: Path) -> None:
    flow = (
        "flow: f\ntrigger: {event: go}\ngoal: {trait: plan, equals: pro, within: 3d}\n"
        "steps: [{tip: shortcuts}]\n"
    )
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "go")
        sim.advance("1d")
        sim.track("u", "ping")  # nothing the goal reads
        assert sim.journey("u")[0]["converted_at"] is None
        sim.identify("u", plan="pro")
        (run,) = sim.journey("u")
        assert (run["status"], run["converted_at"]) == ("completed", sim.start + timedelta(days=1))


def test_exit_condition_ends_the_run(tmp_path: Path) -> None:
    flow = (
        "flow: f\ntrigger: {stage: signup}\nexit_when: {trait: plan, equals: cancelled}\n"
        "steps:\n  - wait: 2d\n  - email: welcome\n"
    )
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "signed_up")
        sim.identify("u", plan="cancelled")
        assert runs(sim, "u") == [("f", "exited", "exit condition holds")]


def test_email_without_address_is_skipped_with_its_reason(tmp_path: Path) -> None:
    flow = "flow: f\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", email_experience="beginner")
        sim.track("u", "go")
        (delivery,) = sim.deliveries("u")
        assert (delivery["status"], delivery["reason"]) == ("skipped", "no email address")
        assert sim.emails() == []


def test_email_is_rendered_into_the_outbox(tmp_path: Path) -> None:
    flow = "flow: f\ntrigger: {event: go}\nsteps: [{email: welcome, id: hello}]\n"
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", **BEGINNER)
        sim.track("u", "go")
        assert sim.delivered("u", step="hello")
        (message,) = sim.emails("u")
        assert message["To"] == BEGINNER["email"]
        assert message.is_multipart()
        assert "delivery-1" in message["Message-ID"]


def test_a_variable_the_profile_lacks_fails_the_delivery_visibly(tmp_path: Path) -> None:
    flow = "flow: f\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
    with sim_with(tmp_path, f=flow) as sim:
        sim.identify("u", email="u@example.com")
        sim.track("u", "go")
        (delivery,) = sim.deliveries("u")
        assert delivery["status"] == "failed"
        assert "first_name" in delivery["reason"]


def test_running_profiles_keep_their_flow_version(tmp_path: Path) -> None:
    old = "flow: f\ntrigger: {event: go}\nsteps:\n  - wait: 1d\n  - tip: shortcuts\n"
    new = (
        "flow: f\ntrigger: {event: go}\n"
        "steps:\n  - tutorial: tour\n  - wait: 1d\n  - email: welcome\n"
    )
    with sim_with(tmp_path, f=old) as sim:
        sim.identify("a", **BEGINNER)
        sim.track("a", "go")
        (tmp_path / "content" / "flows" / "f.yaml").write_text(new)
        sim.catalog = Simulation(tmp_path / "content").catalog
        sim.identify("b", **BEGINNER)
        sim.track("b", "go")
        sim.advance("2d")
        assert [d["content"] for d in sim.deliveries("a")] == ["shortcuts"]
        assert [d["content"] for d in sim.deliveries("b")] == ["tour", "welcome"]


def test_schedule_nudges_everyone_in_the_audience_once_per_occurrence(tmp_path: Path) -> None:
    flow = (
        "flow: weekly\ntrigger: {schedule: '0 9 * * mon'}\naudience: [beginner]\n"
        "reentry: 1d\nsteps: [{tip: shortcuts}]\n"
    )
    with sim_with(tmp_path, weekly=flow) as sim:  # starts Monday 09:00
        for user in ("a", "b"):
            sim.identify(user, **BEGINNER)
        sim.identify("c", email_experience="expert")
        sim.advance("1h")  # first sight of the schedule: starts the clock
        sim.advance("7d")
        assert [len(sim.deliveries(u)) for u in ("a", "b", "c")] == [1, 1, 0]
        sim.advance("1d")
        assert len(sim.deliveries("a")) == 1
        sim.advance("7d")
        assert len(sim.deliveries("a")) == 2


def test_invalid_content_is_refused_with_locations(tmp_path: Path) -> None:
    from engine.testing import InvalidContent

    with pytest.raises(InvalidContent, match=r"f\.yaml:3:\d+: "):
        sim_with(tmp_path, f="flow: f\ntrigger: {event: go}\nsteps: [{email: nope}]\n")


@pytest.mark.parametrize(
    ("weekday", "fires_on"),
    [("1", "Monday"), ("0", "Sunday"), ("7", "Sunday"), ("mon", "Monday"), ("6", "Saturday")],
)
def test_schedule_weekdays_count_as_standard_cron(
    tmp_path: Path, weekday: str, fires_on: str
) -> None:
    flow = (
        f"flow: weekly\ntrigger: {{schedule: '0 9 * * {weekday}'}}\naudience: [beginner]\n"
        "reentry: 1d\nsteps: [{tip: shortcuts}]\n"
    )
    with sim_with(tmp_path, weekly=flow) as sim:  # starts Monday 09:00: notes the time
        sim.identify("a", **BEGINNER)
        days = []
        for _ in range(14):
            before = len(sim.deliveries("a"))
            sim.advance("1d")
            if len(sim.deliveries("a")) > before:
                days.append(sim.clock.now().strftime("%A"))
        assert days == [fires_on, fires_on]
