"""Cross-checks of one flow against the rest of the catalog.

References (templates, tutorials, tips, endpoints, segments, stages, experiment variants,
step ids), duplicate step ids, and steps no profile can reach because every path before
them exits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.catalog.definitions import Flow, ScheduleTrigger, SegmentTrigger, StageTrigger
from engine.catalog.problems import Problem
from engine.catalog.references import Names, condition_problems, reference_problems, unknown
from engine.catalog.steps import (
    ENGAGEABLE,
    BranchStep,
    BySegmentStep,
    EmailStep,
    ExitStep,
    Step,
    TipStep,
    TutorialStep,
    VariantStep,
    WaitUntilStep,
    WebhookStep,
    children,
)
from engine.catalog.yamlfile import Located

StepPath = tuple[int | str, ...]


def check_flow(located: Located[Flow], names: Names) -> Iterator[Problem]:
    flow = located.value
    match flow.trigger:
        case StageTrigger(stage=stage):
            where = ("trigger", "stage")
            yield from reference_problems(located, where, "stage", stage, names.stages)
        case SegmentTrigger(segment=segment):
            yield from reference_problems(
                located, ("trigger", "segment"), "segment", segment, names.segments
            )
    for index, segment in enumerate(flow.audience):
        yield from reference_problems(
            located, ("audience", index), "segment", segment, names.segments
        )
    if isinstance(flow.trigger, ScheduleTrigger) and not flow.audience:
        message = "a schedule trigger needs an audience (the segments it nudges)"
        yield located.problem(("trigger", "schedule"), message)
    if flow.goal is not None:
        yield from condition_problems(flow.goal.condition, located, ("goal",), names)
    if flow.exit_when is not None:
        yield from condition_problems(flow.exit_when, located, ("exit_when",), names)
    steps = list(walk_steps(flow.steps, ("steps",)))
    for path, step in steps:
        yield from _step_references(located, path, step, names)
    yield from _step_ids(located, steps)
    yield from _unreachable(located, flow.steps, ("steps",))


def walk_steps(steps: tuple[Step, ...], path: StepPath) -> Iterator[tuple[StepPath, Step]]:
    """Every step, nested ones included, in document order, with its location."""
    for index, step in enumerate(steps):
        yield (*path, index), step
        for sub, nested in children(step):
            yield from walk_steps(nested, (*path, index, *sub))


def _step_references(
    located: Located[Flow], path: StepPath, step: Step, names: Names
) -> Iterator[Problem]:
    if step.when is not None:
        yield from condition_problems(step.when, located, (*path, "when"), names)
    match step:
        case EmailStep():
            yield from reference_problems(
                located, (*path, "email"), "template", step.email, names.templates
            )
        case TutorialStep():
            yield from reference_problems(
                located, (*path, "tutorial"), "tutorial", step.tutorial, names.tutorials
            )
        case TipStep():
            yield from reference_problems(located, (*path, "tip"), "tip", step.tip, names.tips)
        case WebhookStep():
            yield from reference_problems(
                located, (*path, "webhook"), "endpoint", step.webhook, names.endpoints
            )
        case BranchStep():
            yield from condition_problems(step.branch, located, (*path, "branch"), names)
        case BySegmentStep():
            yield from _persona_keys(located, path, step, names)
        case VariantStep():
            yield from _variant(located, path, step)
        case WaitUntilStep(wait_until=target) if target.stage is not None:
            where = (*path, "wait_until", "stage")
            yield from reference_problems(located, where, "stage", target.stage, names.stages)


def _persona_keys(
    located: Located[Flow], path: StepPath, step: BySegmentStep, names: Names
) -> Iterator[Problem]:
    for segment in step.by_segment:
        if segment not in names.segments:
            message = unknown("segment", segment, names.segments)
            yield located.problem((*path, "by_segment", segment), message, at_key=True)


def _variant(located: Located[Flow], path: StepPath, step: VariantStep) -> Iterator[Problem]:
    experiment = located.value.experiment
    if experiment is None:
        yield located.problem((*path, "variant"), "a variant step needs an experiment in its flow")
    else:
        yield from reference_problems(
            located, (*path, "variant"), "variant", step.variant, experiment.variants
        )


def _step_ids(located: Located[Flow], steps: list[tuple[StepPath, Step]]) -> Iterator[Problem]:
    """Step ids are unique in a flow; `engaged` waits name an earlier engageable step."""
    first: dict[str, tuple[int, StepPath, Step]] = {}
    for index, (path, step) in enumerate(steps):
        if step.id is not None and step.id in first:
            line = located.line(first[step.id][1])
            message = f"duplicate step id '{step.id}' (first used at line {line})"
            yield located.problem((*path, "id"), message)
        elif step.id is not None:
            first[step.id] = (index, path, step)
    for index, (path, step) in enumerate(steps):
        if isinstance(step, WaitUntilStep) and step.wait_until.engaged is not None:
            message = _engaged_problem(step.wait_until.engaged, index, first)
            if message:
                yield located.problem((*path, "wait_until", "engaged"), message)


def _engaged_problem(target: str, index: int, first: dict[str, tuple[int, Any, Step]]) -> str:
    if target not in first:
        return unknown("step id", target, first)
    position, _, step = first[target]
    if position > index:
        return f"step '{target}' comes after this wait_until; wait for an earlier step"
    if step.kind not in ENGAGEABLE:
        return (
            f"step '{target}' is a {step.kind} step; only email, tutorial and tip steps "
            "can be engaged with"
        )
    return ""


def _unreachable(
    located: Located[Flow], steps: tuple[Step, ...], path: StepPath
) -> Iterator[Problem]:
    """The first step after one that always ends the run, in every sequence."""
    for index, step in enumerate(steps):
        for sub, nested in children(step):
            yield from _unreachable(located, nested, (*path, index, *sub))
        if index + 1 < len(steps) and _always_exits(step):
            line = located.line((*path, index))
            reason = (
                f"the run always exits at line {line}"
                if isinstance(step, ExitStep)
                else f"every path through the step at line {line} exits"
            )
            yield located.problem((*path, index + 1), f"unreachable step: {reason}")
            return


def _always_exits(step: Step) -> bool:
    if step.when is not None:
        return False  # a conditional step may be skipped
    match step:
        case ExitStep():
            return True
        case BranchStep():
            return _sequence_exits(step.then) and _sequence_exits(step.otherwise)
        case BySegmentStep():
            personas = all(_sequence_exits(steps) for steps in step.by_segment.values())
            return personas and _sequence_exits(step.otherwise)
        case _:
            return False


def _sequence_exits(steps: tuple[Step, ...]) -> bool:
    return any(_always_exits(step) for step in steps)
