"""Pure arithmetic on the aggregates SQL returns: medians from histograms, retention from
"weeks to last seen", drop-offs and pain points, a flow's steps in reading order.

No database and no HTTP: each function takes the few rows a GROUP BY produced and is tested
with plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

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
from engine.flows.interpreter import step_key


def median_from_histogram(buckets: Mapping[int, int]) -> float | None:
    """The median of values known by whole-unit bucket (value -> count), to the bucket.

    Returns the lower edge of the bucket holding the middle value (with two middles, the
    mean of their buckets), or None for an empty histogram.
    """
    total = sum(buckets.values())
    if total <= 0:
        return None
    ordered = sorted(buckets.items())
    low, high = (total - 1) // 2, total // 2  # 0-based ranks of the middle value(s)

    def at(rank: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if rank < seen:
                return value
        return ordered[-1][0]

    return (at(low) + at(high)) / 2


def retained_from(last_seen_weeks: Mapping[int, int], week: int) -> int:
    """Profiles seen in week `week` after the anchor or later (unbounded retention)."""
    return sum(count for weeks, count in last_seen_weeks.items() if weeks >= week)


@dataclass(frozen=True)
class Transition:
    """From one stage of the journey to the next."""

    source: str
    target: str
    reached: int
    kept: int

    @property
    def conversion(self) -> float | None:
        return self.kept / self.reached if self.reached else None

    @property
    def drop_off(self) -> float | None:
        conversion = self.conversion
        return None if conversion is None else 1 - conversion


def transitions(stages: Sequence[str], reached: Mapping[str, int]) -> list[Transition]:
    """Each consecutive pair of `stages` with the profiles that reached both ends."""
    return [
        Transition(a, b, reached.get(a, 0), min(reached.get(b, 0), reached.get(a, 0)))
        for a, b in pairwise(stages)
    ]


def pain_points(steps: Iterable[Transition], worst: int = 2) -> set[str]:
    """Targets of the `worst` transitions by drop-off rate (only real drop-offs count)."""
    ranked = sorted(
        (t for t in steps if t.drop_off is not None and t.drop_off > 0),
        key=lambda t: t.drop_off or 0.0,
        reverse=True,
    )
    return {t.target for t in ranked[:worst]}


@dataclass(frozen=True)
class StepLine:
    """One step of a flow as the flow page lists it."""

    key: str
    kind: str
    label: str
    depth: int


def flow_steps(flow: Flow) -> list[StepLine]:
    """Every step of `flow`, nested steps under their parent, keyed as the journey is."""
    lines: list[StepLine] = []
    _walk(flow.steps, ("steps",), 0, lines)
    return lines


def _walk(
    steps: Sequence[Step], path: tuple[str | int, ...], depth: int, out: list[StepLine]
) -> None:
    for index, step in enumerate(steps):
        key = step_key(step, path, index)
        out.append(StepLine(key, step.kind, describe(step), depth))
        here = (*path, index)
        for suffix, children in step_paths(step):
            _walk(children, (*here, *suffix), depth + 1, out)


def step_paths(step: Step) -> list[tuple[tuple[str, ...], Sequence[Step]]]:
    """The nested step sequences of `step`, each with its path suffix (as in step keys)."""
    match step:
        case BranchStep():
            return [(("then",), step.then), (("else",), step.otherwise)]
        case BySegmentStep():
            found = [(("by_segment", name), inner) for name, inner in step.by_segment.items()]
            return [*found, (("else",), step.otherwise)]
        case WaitUntilStep():
            return [(("on_timeout",), step.on_timeout)]
        case VariantStep():
            return [(("steps",), step.steps)]
    return []


def describe(step: Step) -> str:
    """A step in a few words, as its YAML reads."""
    match step:
        case EmailStep():
            return f"email {step.email}"
        case TutorialStep():
            return f"tutorial {step.tutorial}"
        case TipStep():
            return f"tip {step.tip}"
        case WebhookStep():
            return f"webhook {step.webhook}"
        case WaitStep():
            return f"wait {_days(step.wait.total_seconds())}"
        case WaitUntilStep():
            target = step.wait_until
            what = target.event or target.stage or f"engaged with {target.engaged}"
            if target.trait is not None:
                offset = target.offset.total_seconds() if target.offset else 0
                sign = "-" if offset < 0 else "+"
                what = f"{target.trait} {sign} {_days(abs(offset))}" if offset else target.trait
            if target.timeout is None:
                return f"wait until {what}"
            return f"wait until {what} (timeout {_days(target.timeout.total_seconds())})"
        case BranchStep():
            return "branch"
        case BySegmentStep():
            return "by persona: " + ", ".join(step.by_segment)
        case VariantStep():
            return f"variant {step.variant} only"
        case ExitStep():
            return f"exit: {step.exit}"
    return step.kind


def _days(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{seconds / 86400:.0f}d"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 60:.0f}m"
