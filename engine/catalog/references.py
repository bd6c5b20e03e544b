"""The names content can refer to, and the check that a reference names one of them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.catalog.conditions import (
    ActivationRiskCondition,
    ClusterCondition,
    Condition,
    SegmentCondition,
    StageCondition,
)
from engine.catalog.dependencies import walk
from engine.catalog.problems import Problem, did_you_mean
from engine.catalog.yamlfile import Loc, Located


@dataclass(frozen=True)
class ModelShape:
    """What a condition may ask of a loaded model: its kind and, for personas, how many
    clusters it has."""

    kind: str
    clusters: int = 0


@dataclass(frozen=True)
class Names:
    """Everything declared, including by definitions that failed validation: their own
    problems are reported, and references to them should not be reported again."""

    stages: frozenset[str]
    segments: frozenset[str]
    templates: frozenset[str]
    tutorials: frozenset[str]
    tips: frozenset[str]
    endpoints: frozenset[str]
    # Model name -> version -> shape; None for a model on disk that failed its checks.
    models: Mapping[str, Mapping[int, ModelShape | None]] = field(default_factory=dict)


def unknown(noun: str, name: str, known: Collection[str]) -> str:
    return f"unknown {noun} '{name}'{did_you_mean(name, known)}"


def reference_problems(
    located: Located[Any], loc: Loc, noun: str, name: str, known: Collection[str]
) -> Iterator[Problem]:
    """A problem at `loc` if `name` is not among `known`."""
    if name not in known:
        yield located.problem(loc, unknown(noun, name, known))


def condition_problems(
    condition: Condition, located: Located[Any], loc: Loc, names: Names
) -> Iterator[Problem]:
    """Unknown stages and segments referred to anywhere in `condition` (found at `loc`)."""
    for where, node in walk(condition, tuple(loc)):
        match node:
            case StageCondition():
                yield from reference_problems(
                    located, (*where, "stage"), "stage", node.stage, names.stages
                )
            case SegmentCondition():
                yield from reference_problems(
                    located, (*where, "segment"), "segment", node.segment, names.segments
                )
            case ClusterCondition() | ActivationRiskCondition():
                message = model_problem(node, names.models)
                if message is not None:
                    yield located.problem((*where, message[0]), message[1])


def model_problem(
    node: ClusterCondition | ActivationRiskCondition,
    models: Mapping[str, Mapping[int, ModelShape | None]],
) -> tuple[str, str] | None:
    """The key at fault and the message, when a model condition names no usable model.

    A model that is on disk but failed its checks is not reported again here.
    """
    versions = models.get(node.model)
    if not versions:
        return "model", (
            f"{unknown('model', node.model, models)}: no segments/models/{node.model}-v<N>/ "
            "directory in the content"
        )
    version = node.version if node.version is not None else max(versions)
    if version not in versions:
        found = ", ".join(str(v) for v in sorted(versions))
        return "version", f"model '{node.model}' has no version {version} (found: {found})"
    shape = versions[version]
    wanted = "personas" if isinstance(node, ClusterCondition) else "activation"
    if shape is None:
        return None
    if shape.kind != wanted:
        use = "activation_risk" if shape.kind == "activation" else "cluster"
        noun = "an activation model" if shape.kind == "activation" else "a persona model"
        return "model", f"model '{node.model}' v{version} is {noun}: use {use}"
    if isinstance(node, ClusterCondition) and node.cluster >= shape.clusters:
        return "cluster", (
            f"cluster {node.cluster} does not exist: model '{node.model}' v{version} has "
            f"clusters 0 to {shape.clusters - 1}"
        )
    return None
