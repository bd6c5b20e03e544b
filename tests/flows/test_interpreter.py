"""The pure interpreter, with plain values: every step kind, waits, bounds, corrupt states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from engine.audience.evaluate import ProfileFacts
from engine.catalog.definitions import Flow
from engine.flows.interpreter import (
    MAX_STEPS,
    Deliver,
    Frame,
    Note,
    RunState,
    StepFacts,
    advance,
    state_from_json,
    state_to_json,
)
from engine.flows.versions import content_data

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def flow(steps: str, **extra: Any) -> Flow:
    data = {"flow": "f", "trigger": {"event": "go"}, "steps": yaml.safe_load(steps), **extra}
    return Flow.model_validate(content_data(data))


def facts(persona: str | None = None, **traits: Any) -> StepFacts:
    return StepFacts(lambda: ProfileFacts(traits=traits), persona, NOW)


def delivered(outcome: Any) -> list[str]:
    return [d.content for d in outcome.decisions if isinstance(d, Deliver)]


def test_delivery_steps_run_in_order_and_the_run_completes() -> None:
    f = flow("[{email: a}, {tutorial: b}, {tip: c}, {webhook: d}]")
    outcome = advance(f, RunState.start(), facts())
    assert [(d.channel, d.content) for d in outcome.decisions if isinstance(d, Deliver)] == [
        ("email", "a"),
        ("tutorial", "b"),
        ("tip", "c"),
        ("webhook", "d"),
    ]
    assert outcome.ended == ("completed", "all steps done")


def test_wait_parks_the_run_and_the_timer_continues_it() -> None:
    f = flow("[{email: a}, {wait: 2d}, {email: b}]")
    first = advance(f, RunState.start(), facts())
    assert delivered(first) == ["a"]
    assert first.waiting is not None
    assert first.waiting.until == NOW + timedelta(days=2)
    assert first.ended is None
    second = advance(f, first.state, facts(), "timer")
    assert delivered(second) == ["b"]
    assert second.ended == ("completed", "all steps done")


def test_wait_until_target_or_timeout() -> None:
    f = flow(
        """
        - wait_until: {event: campaign_created, timeout: 2d}
          on_timeout: [{email: nudge}]
        - email: after
        """
    )
    parked = advance(f, RunState.start(), facts())
    assert parked.waiting is not None
    assert parked.waiting.target == "event:campaign_created"
    on_target = advance(f, parked.state, facts(), "target")
    assert delivered(on_target) == ["after"]
    on_timeout = advance(f, parked.state, facts(), "timer")
    assert delivered(on_timeout) == ["nudge", "after"]


def test_branch_by_segment_and_variant() -> None:
    f = flow(
        """
        - branch: {trait: seats, gte: 50}
          then: [{email: big}]
          else: [{email: small}]
        - by_segment:
            power_user: [{tip: shortcuts}]
          else: [{tip: checklist}]
        - variant: b
          steps: [{email: only-b}]
        """,
        experiment={"key": "x", "variants": {"a": 50, "b": 50}},
    )
    outcome = advance(f, RunState.start("b"), facts("power_user", seats=80))
    assert delivered(outcome) == ["big", "shortcuts", "only-b"]
    outcome = advance(f, RunState.start("a"), facts(None, seats=3))
    assert delivered(outcome) == ["small", "checklist"]
    skipped = [d for d in outcome.decisions if isinstance(d, Note) and d.outcome == "skipped"]
    assert skipped[0].detail == {"reason": "variant is a"}


def test_step_condition_false_is_skipped_with_its_reason() -> None:
    f = flow("[{email: a, when: {trait: plan, equals: pro}}, {email: b}]")
    outcome = advance(f, RunState.start(), facts(plan="trial"))
    assert delivered(outcome) == ["b"]
    note = outcome.decisions[0]
    assert isinstance(note, Note)
    assert (note.step, note.outcome, note.detail) == (
        "steps.0",
        "skipped",
        {"reason": "condition false"},
    )


def test_exit_ends_the_run_with_its_reason() -> None:
    f = flow("[{exit: opted out}, {email: never}]")
    outcome = advance(f, RunState.start(), facts())
    assert delivered(outcome) == []
    assert outcome.ended == ("exited", "opted out")


def test_step_ids_name_steps() -> None:
    f = flow("[{email: a, id: hello}]")
    outcome = advance(f, RunState.start(), facts())
    assert outcome.decisions[0] == Deliver("hello", "email", "a")


def test_a_position_outside_the_flow_exits_with_a_reason() -> None:
    f = flow("[{email: a}]")
    corrupt = RunState((Frame(("steps", 0, "then"), 0),))
    outcome = advance(f, corrupt, facts())
    assert outcome.ended is not None
    assert outcome.ended[0] == "exited"
    assert outcome.ended[1].startswith("impossible state")
    woken = advance(f, RunState.start(), facts(), "timer")
    assert woken.ended == ("exited", "impossible state: woken by timer but not waiting")


def test_the_interpreter_is_bounded() -> None:
    many = "[" + ", ".join(f"{{email: e{i}}}" for i in range(MAX_STEPS + 5)) + "]"
    outcome = advance(flow(many), RunState.start(), facts())
    assert outcome.ended == ("exited", f"more than {MAX_STEPS} steps at once")
    assert len(delivered(outcome)) == MAX_STEPS


def test_state_round_trips_through_json() -> None:
    f = flow("[{wait_until: {stage: activation, timeout: 1d}}]")
    parked = advance(f, RunState.start("b"), facts())
    assert state_from_json(state_to_json(parked.state)) == parked.state
