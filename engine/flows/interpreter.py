"""The step interpreter: a pure function from (run state, flow, facts, wake-up) to decisions.

A run's position is a stack of frames, one per nested step sequence being executed
(`steps`, a branch's `then`, a persona's steps under `by_segment` ...). `advance` runs steps
until the run must wait (for a duration, or for an event/stage/engagement with a timeout) or
ends. It performs no I/O: deliveries, timers and journey entries come back as decisions for
the service to write. It is bounded (`MAX_STEPS`), and a position that does not exist in the
flow (a corrupt state) ends the run with a recorded reason instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from engine.audience.dates import profile_zone, shifted
from engine.audience.evaluate import ProfileFacts, evaluate, lookup
from engine.catalog.definitions import Flow
from engine.catalog.steps import (
    BranchStep,
    BySegmentStep,
    EmailStep,
    ExitStep,
    Step,
    TipStep,
    TutorialStep,
    VariantStep,
    WaitStep,
    WaitUntilStep,
    WebhookStep,
)

MAX_STEPS = 200
Path = tuple[int | str, ...]
Wake = Literal["start", "timer", "target"]


@dataclass(frozen=True)
class Frame:
    """Executing the step sequence at `path` (e.g. ("steps",), ("steps", 2, "then"))."""

    path: Path
    index: int


@dataclass(frozen=True)
class Waiting:
    """The run is parked at `step` until `until`; `target` ends a `wait_until` early.

    A date wait (`date:<trait>`) wakes at `until`, the sooner of its date and `deadline`
    (its timeout), and decides then which came: the trait may have changed meanwhile.
    """

    step: str
    until: datetime
    target: str | None = None  # "event:<name>", "stage:<name>", "engaged:<step>", "date:<trait>"
    deadline: datetime | None = None


@dataclass(frozen=True)
class RunState:
    frames: tuple[Frame, ...]
    variant: str | None = None
    waiting: Waiting | None = None

    @staticmethod
    def start(variant: str | None = None) -> RunState:
        return RunState((Frame(("steps",), 0),), variant)

    # Direct constructors rather than dataclasses.replace: a wake changes its state three
    # times, and replace() was about 5% of a timer tick.
    def with_frames(self, frames: tuple[Frame, ...]) -> RunState:
        return RunState(frames, self.variant, self.waiting)

    def with_waiting(self, waiting: Waiting | None) -> RunState:
        return RunState(self.frames, self.variant, waiting)


@dataclass(frozen=True)
class Deliver:
    step: str
    channel: str  # email | tutorial | tip | webhook
    content: str  # template, tutorial, tip or endpoint name


@dataclass(frozen=True)
class Note:
    """A journey entry: what happened at a step that delivers nothing, or why it was skipped."""

    step: str
    kind: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    state: RunState
    decisions: tuple[Deliver | Note, ...]
    ended: tuple[str, str] | None = None  # (status, reason): completed | exited

    @property
    def waiting(self) -> Waiting | None:
        return None if self.ended else self.state.waiting


@dataclass(frozen=True)
class StepFacts:
    """What steps may read: the profile facts, its primary persona and the time.

    The profile facts are built on first read: most steps read no condition, and building
    them (events, stage entries, model scores) is the costly part of waking a run.
    """

    load_profile: Callable[[], ProfileFacts]
    persona: str | None
    now: datetime

    @cached_property
    def profile(self) -> ProfileFacts:
        return self.load_profile()


def step_key(step: Step, path: Path, index: int) -> str:
    """A step's name in deliveries and the journey: its `id`, else its position."""
    return step.id or ".".join(str(p) for p in (*path, index))


def advance(flow: Flow, state: RunState, facts: StepFacts, wake: Wake = "start") -> Outcome:
    """Run `flow` from `state` until it waits or ends."""
    run = _Run(flow, state, facts)
    try:
        run.resume(wake)
        return run.go()
    except _Impossible as exc:
        return Outcome(run.state, tuple(run.decisions), ("exited", f"impossible state: {exc}"))


class _Impossible(Exception):
    pass


class _Run:
    def __init__(self, flow: Flow, state: RunState, facts: StepFacts) -> None:
        self.flow = flow
        self.state = state
        self.facts = facts
        self.decisions: list[Deliver | Note] = []

    def resume(self, wake: Wake) -> None:
        waiting = self.state.waiting
        if waiting is None:
            if wake != "start":
                raise _Impossible(f"woken by {wake} but not waiting")
            return
        self.state = self.state.with_waiting(None)
        frame = self._top()
        step = self._sequence(frame.path)[frame.index] if self._in_range(frame) else None
        if not isinstance(step, WaitUntilStep):
            return  # a plain wait: its frame already points past it
        key = step_key(step, frame.path, frame.index)
        if step.wait_until.trait is not None:
            self._settle_date_wait(step, key, frame, waiting.deadline)
            return
        self._move(frame.index + 1)
        if wake == "timer":
            self.decisions.append(Note(key, "wait_until", "timed out"))
            self._push((*frame.path, frame.index, "on_timeout"))
        else:
            self.decisions.append(Note(key, "wait_until", "target reached"))

    def go(self) -> Outcome:
        for _ in range(MAX_STEPS):
            if self.state.waiting is not None:  # a date wait woken before its moment
                return Outcome(self.state, tuple(self.decisions))
            if not self.state.frames:
                return self._end("completed", "all steps done")
            frame = self._top()
            if not self._in_range(frame):
                self.state = self.state.with_frames(self.state.frames[:-1])
                continue
            step = self._sequence(frame.path)[frame.index]
            ended = self._execute(step, frame)
            if ended is not None or self.state.waiting is not None:
                return ended or Outcome(self.state, tuple(self.decisions))
        return self._end("exited", f"more than {MAX_STEPS} steps at once")

    def _execute(self, step: Step, frame: Frame) -> Outcome | None:
        key = step_key(step, frame.path, frame.index)
        now = self.facts.now
        if step.when is not None and not evaluate(step.when, self.facts.profile, now):
            self.decisions.append(Note(key, step.kind, "skipped", {"reason": "condition false"}))
            self._move(frame.index + 1)
            return None
        self._move(frame.index + 1)
        match step:
            case EmailStep() | TutorialStep() | TipStep() | WebhookStep():
                self.decisions.append(Deliver(key, step.kind, _content(step)))
            case WaitStep():
                self._wait(key, "wait", now + step.wait, None)
            case WaitUntilStep() if step.wait_until.trait is not None:
                timeout = step.wait_until.timeout
                deadline = now + timeout if timeout is not None else None
                self._move(frame.index)
                self._wait(key, "wait_until", self._date_until(step, deadline), _target(step))
                self._settle_date_wait(step, key, frame, deadline)
            case WaitUntilStep():
                timeout = step.wait_until.timeout
                assert timeout is not None  # validated: only a date wait may omit it
                self._move(frame.index)  # stays here until target or timeout
                self._wait(key, "wait_until", now + timeout, _target(step))
            case BranchStep():
                taken = evaluate(step.branch, self.facts.profile, now)
                self.decisions.append(Note(key, "branch", "then" if taken else "else"))
                self._push((*frame.path, frame.index, "then" if taken else "else"))
            case BySegmentStep():
                persona = self.facts.persona
                chosen = persona if persona in step.by_segment else None
                self.decisions.append(Note(key, "by_segment", chosen or "else"))
                where = ("by_segment", chosen) if chosen else ("else",)
                self._push((*frame.path, frame.index, *where))
            case VariantStep():
                if step.variant == self.state.variant:
                    self._push((*frame.path, frame.index, "steps"))
                else:
                    detail = {"reason": f"variant is {self.state.variant or 'none'}"}
                    self.decisions.append(Note(key, "variant", "skipped", detail))
            case ExitStep():
                self.decisions.append(Note(key, "exit", "exited", {"reason": step.exit}))
                return self._end("exited", step.exit)
        return None

    def _settle_date_wait(
        self, step: WaitUntilStep, key: str, frame: Frame, deadline: datetime | None
    ) -> None:
        """End a date wait whose date or deadline has come, or (re)park it until the sooner.

        Re-parking records nothing in the journey: the timer's new time is the record.
        """
        now, date = self.facts.now, self._date(step)
        if date is not None and date <= now:
            self.state = self.state.with_waiting(None)
            self._move(frame.index + 1)
            self.decisions.append(Note(key, "wait_until", "target reached"))
        elif (deadline is not None and deadline <= now) or (date is None and deadline is None):
            self.state = self.state.with_waiting(None)
            self._move(frame.index + 1)
            detail = {"reason": "no date"} if date is None else {}
            self.decisions.append(Note(key, "wait_until", "timed out", detail))
            self._push((*frame.path, frame.index, "on_timeout"))
        else:
            until = self._date_until(step, deadline)
            self.state = self.state.with_waiting(Waiting(key, until, _target(step), deadline))

    def _date(self, step: WaitUntilStep) -> datetime | None:
        """Where a date wait ends for this profile now: its trait's moment plus the offset."""
        target, profile = step.wait_until, self.facts.profile
        assert target.trait is not None
        zone = profile_zone(profile.traits, profile.default_timezone)
        return shifted(lookup(profile.traits, target.trait), target.offset or timedelta(0), zone)

    def _date_until(self, step: WaitUntilStep, deadline: datetime | None) -> datetime:
        """When to wake a date wait: its date or deadline, whichever is sooner (now if
        neither is known: the wait then ends at once)."""
        known = [t for t in (self._date(step), deadline) if t is not None]
        return min(known, default=self.facts.now)

    def _wait(self, key: str, kind: str, until: datetime, target: str | None) -> None:
        self.state = self.state.with_waiting(Waiting(key, until, target))
        detail = {"until": until.isoformat()} | ({"for": target} if target else {})
        self.decisions.append(Note(key, kind, "waiting", detail))

    def _end(self, status: str, reason: str) -> Outcome:
        return Outcome(self.state, tuple(self.decisions), (status, reason))

    def _top(self) -> Frame:
        return self.state.frames[-1]

    def _move(self, index: int) -> None:
        frames = self.state.frames
        self.state = self.state.with_frames((*frames[:-1], Frame(frames[-1].path, index)))

    def _push(self, path: Path) -> None:
        self._sequence(path)  # validates the path
        self.state = self.state.with_frames((*self.state.frames, Frame(path, 0)))

    def _in_range(self, frame: Frame) -> bool:
        sequence = self._sequence(frame.path)
        if frame.index < 0 or frame.index > len(sequence):
            raise _Impossible(f"step {frame.index} of {'.'.join(map(str, frame.path))}")
        return frame.index < len(sequence)

    def _sequence(self, path: Path) -> tuple[Step, ...]:
        return resolve(self.flow, path)


def resolve(flow: Flow, path: Path) -> tuple[Step, ...]:
    """The step sequence at `path` in `flow`; raises `_Impossible` if there is none."""
    if not path or path[0] != "steps":
        raise _Impossible(f"bad path {path}")
    sequence: tuple[Step, ...] = flow.steps
    rest = list(path[1:])
    while rest:
        index = rest.pop(0)
        if not isinstance(index, int) or not 0 <= index < len(sequence):
            raise _Impossible(f"no step {index} in {path}")
        sequence = _child(sequence[index], rest, path)
    return sequence


def _child(step: Step, rest: list[int | str], path: Path) -> tuple[Step, ...]:
    name = rest.pop(0) if rest else None
    match step, name:
        case BranchStep(), "then":
            return step.then
        case BranchStep() | BySegmentStep(), "else":
            return step.otherwise
        case BySegmentStep(), "by_segment" if rest and rest[0] in step.by_segment:
            return step.by_segment[str(rest.pop(0))]
        case WaitUntilStep(), "on_timeout":
            return step.on_timeout
        case VariantStep(), "steps":
            return step.steps
    raise _Impossible(f"no nested steps at {path}")


def _content(step: EmailStep | TutorialStep | TipStep | WebhookStep) -> str:
    match step:
        case EmailStep():
            return step.email
        case TutorialStep():
            return step.tutorial
        case TipStep():
            return step.tip
        case WebhookStep():
            return step.webhook


def _target(step: WaitUntilStep) -> str:
    target = step.wait_until
    if target.trait is not None:
        return f"date:{target.trait}"
    if target.event is not None:
        return f"event:{target.event}"
    if target.stage is not None:
        return f"stage:{target.stage}"
    return f"engaged:{target.engaged}"


def state_to_json(state: RunState) -> dict[str, Any]:
    return {
        "frames": [[list(f.path), f.index] for f in state.frames],
        "variant": state.variant,
        "waiting": None
        if state.waiting is None
        else {
            "step": state.waiting.step,
            "until": state.waiting.until.isoformat(),
            "target": state.waiting.target,
            "deadline": None
            if state.waiting.deadline is None
            else state.waiting.deadline.isoformat(),
        },
    }


def state_from_json(data: dict[str, Any]) -> RunState:
    waiting = data.get("waiting")
    if waiting is None:
        parked = None
    else:
        deadline = waiting.get("deadline")
        parked = Waiting(
            waiting["step"],
            datetime.fromisoformat(waiting["until"]),
            waiting["target"],
            None if deadline is None else datetime.fromisoformat(deadline),
        )
    return RunState(
        frames=tuple(Frame(tuple(path), index) for path, index in data["frames"]),
        variant=data.get("variant"),
        waiting=parked,
    )
