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


DATE_WAIT = """
- wait_until: {trait: renewal_at, offset: -7d}
  on_timeout: [{email: no-date}]
- email: renewal-soon
"""


def at(when: datetime, persona: str | None = None, **traits: Any) -> StepFacts:
    return StepFacts(lambda: ProfileFacts(traits=traits), persona, when)


def test_a_date_wait_parks_until_the_trait_plus_offset_and_ends_there() -> None:
    f = flow(DATE_WAIT)
    parked = advance(f, RunState.start(), facts(renewal_at="2026-02-01T10:00:00Z"))
    assert parked.waiting is not None
    assert parked.waiting.until == datetime(2026, 1, 25, 10, tzinfo=UTC)
    assert parked.waiting.target == "date:renewal_at"
    renewal = "2026-02-01T10:00:00Z"
    woken = advance(f, parked.state, at(parked.waiting.until, renewal_at=renewal), "timer")
    assert delivered(woken) == ["renewal-soon"]
    assert Note("steps.0", "wait_until", "target reached") in woken.decisions


def test_a_date_wait_woken_early_by_a_moved_trait_parks_again_at_the_new_date() -> None:
    f = flow(DATE_WAIT)
    parked = advance(f, RunState.start(), facts(renewal_at="2026-02-01T10:00:00Z"))
    moved = advance(f, parked.state, facts(renewal_at="2026-03-01T10:00:00Z"), "target")
    assert moved.ended is None
    assert moved.waiting is not None
    assert moved.waiting.until == datetime(2026, 2, 22, 10, tzinfo=UTC)
    assert moved.decisions == ()  # nothing delivered, no second journey entry
    sooner = advance(f, moved.state, facts(renewal_at="2026-01-10"), "target")  # 3 Jan: past
    assert delivered(sooner) == ["renewal-soon"]


def test_a_date_already_past_ends_the_wait_at_once() -> None:
    outcome = advance(flow(DATE_WAIT), RunState.start(), facts(renewal_at="2026-01-06"))
    assert delivered(outcome) == ["renewal-soon"]
    assert outcome.ended == ("completed", "all steps done")


def test_without_a_date_and_a_timeout_the_wait_goes_on_to_on_timeout_at_once() -> None:
    for traits in ({}, {"renewal_at": "someday"}, {"renewal_at": None}):
        outcome = advance(flow(DATE_WAIT), RunState.start(), facts(**traits))
        assert delivered(outcome) == ["no-date", "renewal-soon"]
        assert Note("steps.0", "wait_until", "timed out", {"reason": "no date"}) in (
            outcome.decisions
        )


def test_with_a_timeout_the_wait_waits_for_a_date_then_times_out() -> None:
    f = flow(
        """
        - wait_until: {trait: renewal_at, offset: -7d, timeout: 30d}
          on_timeout: [{email: no-date}]
        - email: renewal-soon
        """
    )
    parked = advance(f, RunState.start(), facts())
    assert parked.waiting is not None
    assert parked.waiting.until == NOW + timedelta(days=30)
    later = advance(f, parked.state, facts(renewal_at="2026-12-01"), "target")  # far away
    assert later.waiting is not None
    assert later.waiting.until == NOW + timedelta(days=30)  # the timeout comes first
    ended = advance(f, later.state, at(NOW + timedelta(days=30), renewal_at="2026-12-01"), "timer")
    assert delivered(ended) == ["no-date", "renewal-soon"]
    restored = state_from_json(state_to_json(later.state))
    assert restored == later.state


def test_a_date_wait_counts_local_days_across_daylight_saving() -> None:
    outcome = advance(
        flow(DATE_WAIT),
        RunState.start(),
        facts(renewal_at="2026-04-02", timezone="Europe/Paris"),  # summer time from 29 March
    )
    assert outcome.waiting is not None
    assert outcome.waiting.until == datetime(2026, 3, 25, 23, tzinfo=UTC)  # 00:00 +01:00
