"""Frequency cap and quiet hours across two flows, on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

from engine.guardrails.rules import FrequencyCap, QuietHours
from engine.guardrails.service import Guardrails
from engine.testing import Simulation
from tests.flows.content import content_with

LOW = "flow: low\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
HIGH = "flow: high\ntrigger: {event: go}\npriority: 10\nsteps: [{email: welcome}]\n"
DAILY = "flow: daily\ntrigger: {event: go}\nreentry: 1h\nsteps: [{email: welcome}]\n"
TRAITS = {"email": "s@example.com", "first_name": "S"}


def outcomes(sim: Simulation, user: str) -> dict[str, tuple[str, str | None]]:
    return {d["flow"]: (d["status"], d["reason"]) for d in sim.deliveries(user)}


def test_the_higher_priority_flow_wins_the_daily_cap(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", low=LOW, high=HIGH)
    with Simulation(content, guardrails=Guardrails({"email": FrequencyCap(1, 0)})) as sim:
        sim.identify("u", **TRAITS)
        sim.track("u", "go")
        assert outcomes(sim, "u") == {
            "high": ("sent", None),
            "low": ("skipped", "frequency cap: 1 email per day"),
        }
        skipped = [s for r in sim.journey("u") if r["flow"] == "low" for s in r["steps"]]
        assert ("email", "skipped") in [(s["kind"], s["outcome"]) for s in skipped]


def test_the_cap_is_a_rolling_window(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", daily=DAILY)
    with Simulation(content, guardrails=Guardrails({"email": FrequencyCap(1, 2)})) as sim:
        sim.identify("u", **TRAITS)
        sent = []
        for _ in range(4):
            sim.track("u", "go")
            sent.append(len(sim.emails("u")))
            sim.advance("13h")
        assert sent == [1, 1, 2, 2]  # at most 1 a day; the week limit then stops at 2
        sim.track("u", "go")
        assert len(sim.emails("u")) == 2
        assert sim.deliveries("u")[-1]["reason"] == "frequency cap: 2 email per week"


def test_quiet_hours_delay_in_the_profiles_timezone(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", low=LOW)
    quiet = Guardrails(quiet=QuietHours(time(21), time(8)))
    evening = datetime(2026, 1, 5, 22, tzinfo=UTC)  # 23:00 in Paris
    with Simulation(content, start=evening, guardrails=quiet) as sim:
        sim.identify("u", **TRAITS, timezone="Europe/Paris")
        sim.track("u", "go")
        assert sim.emails("u") == []
        assert outcomes(sim, "u") == {"low": ("pending", "quiet hours until 08:00 Europe/Paris")}
        steps = [s for r in sim.journey("u") for s in r["steps"]]
        assert ("email", "delayed") in [(s["kind"], s["outcome"]) for s in steps]
        sim.advance("8h")  # 06:00 UTC = 07:00 Paris: still quiet
        assert sim.emails("u") == []
        sim.advance("1h")
        assert len(sim.emails("u")) == 1
        assert outcomes(sim, "u") == {"low": ("sent", None)}


TIP_LOW = "flow: tip-low\ntrigger: {event: go}\nsteps: [{tip: shortcuts}]\n"
TIP_HIGH = "flow: tip-high\ntrigger: {event: go}\npriority: 5\nsteps: [{tip: shortcuts}]\n"
TOUR = "flow: tour\ntrigger: {event: go}\nsteps: [{tutorial: tour}]\n"
TIP_DAILY = "flow: tips\ntrigger: {event: go}\nreentry: 1h\nsteps: [{tip: shortcuts}]\n"
TIP_CAP = Guardrails({"tip": FrequencyCap(1, 0)})


def test_in_app_tips_are_capped_and_the_higher_priority_flow_wins(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", low=TIP_LOW, high=TIP_HIGH, tour=TOUR)
    with Simulation(content, guardrails=TIP_CAP) as sim:
        sim.identify("u", **TRAITS)
        sim.track("u", "go")
        assert outcomes(sim, "u") == {
            "tip-high": ("sent", None),
            "tip-low": ("skipped", "frequency cap: 1 tip per day"),
            "tour": ("sent", None),  # the cap is per channel: tutorials are not limited
        }
        shown = [(i["kind"], i["name"]) for i in sim.inapp("u")]
        assert sorted(shown) == [("tip", "shortcuts"), ("tutorial", "tour")]
        (low,) = [r for r in sim.journey("u") if r["flow"] == "tip-low"]
        assert ("tip", "skipped", "frequency cap: 1 tip per day") in [
            (s["kind"], s["outcome"], s["detail"].get("reason")) for s in low["steps"]
        ]


def test_the_in_app_cap_counts_earlier_batches_in_a_rolling_day(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", tips=TIP_DAILY)
    with Simulation(content, guardrails=TIP_CAP) as sim:
        sim.identify("u", **TRAITS)
        statuses = []
        for _ in range(3):
            sim.track("u", "go")
            statuses.append(sim.deliveries("u")[-1]["status"])
            sim.advance("13h")
        assert statuses == ["sent", "skipped", "sent"]
        assert len(sim.inapp("u")) == 2


def test_a_capped_tip_after_a_wait_is_skipped_at_its_timer(tmp_path: Path) -> None:
    later = "flow: later\ntrigger: {event: go}\nsteps: [{wait: 1h}, {tip: shortcuts}]\n"
    content = content_with(tmp_path / "c", low=TIP_LOW, later=later)
    with Simulation(content, guardrails=TIP_CAP) as sim:
        sim.identify("u", **TRAITS)
        sim.track("u", "go")
        sim.advance("2h")
        assert outcomes(sim, "u") == {
            "tip-low": ("sent", None),
            "later": ("skipped", "frequency cap: 1 tip per day"),
        }
