"""Checks across definitions: references, stage order, unique priorities and experiment
keys, and segments that depend on each other in a circle."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from engine.catalog.collect import Definitions
from engine.catalog.conditions import (
    ActivationRiskCondition,
    ClusterCondition,
    SegmentCondition,
    StageCondition,
)
from engine.catalog.definitions import Segment, Stage
from engine.catalog.dependencies import walk
from engine.catalog.experimentcheck import check_experiment_metrics
from engine.catalog.flowcheck import check_flow
from engine.catalog.problems import Problem
from engine.catalog.references import ModelShape, Names, condition_problems
from engine.catalog.yamlfile import Located


@dataclass(frozen=True)
class Cycle:
    """Segments that refer to each other in a circle, found at a reference in `segment`."""

    segment: str
    loc: tuple[int | str, ...]
    path: tuple[str, ...]


def names_of(
    definitions: Definitions,
    templates: set[str],
    models: Mapping[str, Mapping[int, ModelShape | None]] | None = None,
) -> Names:
    """What references may name: valid definitions, declared ones, emails and models on
    disk."""
    declared = definitions.declared

    def of(kind: str, valid: Mapping[str, object]) -> frozenset[str]:
        return frozenset(valid) | frozenset(declared.get(kind, ()))

    stages = {located.value.stage: located for located in definitions.stages}
    return Names(
        stages=of("stage", stages),
        segments=of("segment", definitions.segments),
        templates=frozenset(templates),
        tutorials=of("tutorial", definitions.tutorials),
        tips=of("tip", definitions.tips),
        endpoints=of("endpoint", definitions.endpoints),
        models=models or {},
    )


def check_catalog(definitions: Definitions, names: Names) -> Iterator[Problem]:
    """Every problem that needs more than one definition to see."""
    yield from _check_stages(definitions.stages, names)
    yield from _check_segments(definitions.segments, names)
    yield from _check_experiment_keys(definitions)
    yield from check_experiment_metrics(definitions, names)
    for flow in definitions.flows.values():
        yield from check_flow(flow, names)


def _check_stages(stages: list[Located[Stage]], names: Names) -> Iterator[Problem]:
    """Stage conditions may use stages listed above them only, so one pass in catalog
    order enters every stage whose condition holds."""
    for index, located in enumerate(stages):
        stage = located.value
        yield from condition_problems(stage.when, located, ("when",), names)
        earlier = {other.value.stage for other in stages[:index]}
        for where, node in walk(stage.when, ("when",)):
            if isinstance(node, ClusterCondition | ActivationRiskCondition):
                message = "a stage condition cannot use a model: stages are settled first"
                yield located.problem((*where, node.kind), message)
            if not isinstance(node, StageCondition) or node.stage in earlier:
                continue
            if node.stage in names.stages:  # unknown stages are reported above
                message = (
                    f"stage '{node.stage}' is not listed before '{stage.stage}'; "
                    "a stage condition can only use the stages above it"
                )
                yield located.problem((*where, "stage"), message)


def _check_segments(segments: dict[str, Located[Segment]], names: Names) -> Iterator[Problem]:
    by_priority: dict[int, str] = {}
    for located in segments.values():
        segment = located.value
        yield from condition_problems(segment.when, located, ("when",), names)
        if segment.priority in by_priority:
            message = (
                f"priority {segment.priority} is already used by segment "
                f"'{by_priority[segment.priority]}'; the highest priority decides the primary "
                "persona, so priorities must differ"
            )
            yield located.problem(("priority",), message)
        else:
            by_priority[segment.priority] = segment.segment
    _, cycles = order_segments({name: located.value for name, located in segments.items()})
    for cycle in cycles:
        message = "segments refer to each other in a circle: " + " -> ".join(cycle.path)
        yield segments[cycle.segment].problem(cycle.loc, message)


def order_segments(segments: Mapping[str, Segment]) -> tuple[list[str], list[Cycle]]:
    """Segment names with every segment after the segments its condition uses (the order
    they are evaluated in), and the cycles that prevent such an order."""
    order: list[str] = []
    cycles: list[Cycle] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        state[name] = "visiting"
        for where, node in walk(segments[name].when, ("when",)):
            if not isinstance(node, SegmentCondition) or node.segment not in segments:
                continue
            if state.get(node.segment) == "visiting":
                chain = (*trail, name)
                path = (*chain[chain.index(node.segment) :], node.segment)
                cycles.append(Cycle(name, (*where, "segment"), path))
            elif node.segment not in state:
                visit(node.segment, (*trail, name))
        state[name] = "done"
        order.append(name)

    for name in segments:
        if name not in state:
            visit(name, ())
    return order, cycles


def _check_experiment_keys(definitions: Definitions) -> Iterator[Problem]:
    """Experiment keys name assignments in the store, so two flows (or a flow and the
    global holdout) cannot share one."""
    owners: dict[str, str] = {}
    if definitions.holdout is not None:
        owners[definitions.holdout.value.holdout] = "the global holdout"
    for located in definitions.flows.values():
        experiment = located.value.experiment
        if experiment is None:
            continue
        if experiment.key in owners:
            owner = owners[experiment.key]
            owner = owner if owner == "the global holdout" else f"flow '{owner}'"
            message = f"experiment key '{experiment.key}' is already used by {owner}"
            yield located.problem(("experiment", "key"), message)
        else:
            owners[experiment.key] = located.value.flow
