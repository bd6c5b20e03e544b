"""The names content can refer to, and the check that a reference names one of them."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from engine.catalog.conditions import Condition, SegmentCondition, StageCondition
from engine.catalog.dependencies import walk
from engine.catalog.problems import Problem, did_you_mean
from engine.catalog.yamlfile import Loc, Located


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
