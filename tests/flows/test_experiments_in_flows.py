"""Experiments at flow entry: sticky variants pick variant steps, a holdout control gets
nothing, and the global onboarding holdout keeps profiles out of every flow."""

from __future__ import annotations

from pathlib import Path

from engine.testing import Simulation
from tests.flows.content import content_with

SPLIT = """flow: f
trigger: {event: go}
experiment:
  key: tour-first
  variants: {control: 50, tour: 50}
steps:
  - variant: tour
    steps: [{tutorial: tour}]
  - tip: shortcuts
"""
HOLDOUT = SPLIT.replace(
    "  variants: {control: 50, tour: 50}", "  variants: {control: 50, tour: 50}\n  holdout: true"
)


def variants(sim: Simulation, user: str) -> tuple[str | None, list[str], str]:
    (run,) = sim.journey(user)
    return run["variant"], [d["content"] for d in run["deliveries"]], run["status"]


def test_each_variant_gets_its_steps_and_the_split_is_sticky(tmp_path: Path) -> None:
    with Simulation(content_with(tmp_path / "c", f=SPLIT)) as sim:
        seen = {}
        for i in range(40):
            sim.identify(f"u{i}", email_experience="beginner")
            sim.track(f"u{i}", "go")
            variant, delivered, status = variants(sim, f"u{i}")
            assert status == "completed"
            assert delivered == (["tour", "shortcuts"] if variant == "tour" else ["shortcuts"])
            seen[f"u{i}"] = variant
        assert set(seen.values()) == {"control", "tour"}
        sim.track("u0", "go")  # re-triggering (reentry once) changes nothing
        assert variants(sim, "u0")[0] == seen["u0"]


def test_a_holdout_control_receives_nothing(tmp_path: Path) -> None:
    with Simulation(content_with(tmp_path / "c", f=HOLDOUT)) as sim:
        statuses = set()
        for i in range(30):
            sim.identify(f"u{i}", email_experience="beginner")
            sim.track(f"u{i}", "go")
            variant, delivered, status = variants(sim, f"u{i}")
            if variant == "control":
                assert delivered == []
                assert status == "exited"
            else:
                assert delivered == ["tour", "shortcuts"]
            statuses.add(status)
        assert statuses == {"exited", "completed"}


def test_the_global_holdout_keeps_profiles_out_of_every_flow(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", f=SPLIT)
    (content / "flows" / "holdout.yaml").write_text("holdout: onboarding-holdout\npercent: 50\n")
    with Simulation(content) as sim:
        outcomes = []
        for i in range(40):
            sim.identify(f"u{i}", email_experience="beginner")
            sim.track(f"u{i}", "go")
            (run,) = sim.journey(f"u{i}")
            outcomes.append((run["status"], run["end_reason"]))
        held = [o for o in outcomes if o[0] == "skipped"]
        assert held
        assert {reason for _, reason in held} == {"global holdout 'onboarding-holdout'"}
        assert len(held) < len(outcomes)
