"""What a condition depends on, so evaluation can skip conditions an event cannot change.

The ingestion service re-evaluates, for each identify/track, only the stages and segments
whose dependencies overlap what changed (the event's name, the traits set); the periodic job
re-evaluates only the time-relative ones (`within` windows and date traits move with the
clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from engine.catalog.conditions import (
    ActivationRiskCondition,
    AllCondition,
    AnyCondition,
    ClusterCondition,
    Condition,
    EventCondition,
    NotCondition,
    SegmentCondition,
    StageCondition,
    TraitCondition,
)

Path = tuple[int | str, ...]


@dataclass(frozen=True)
class Dependencies:
    """The facts a condition reads. Also used to describe a change, to test overlap.

    `models` names the models whose outputs a condition reads (`cluster`,
    `activation_risk`); a change lists the models it re-scored.
    """

    event_names: frozenset[str] = frozenset()
    trait_keys: frozenset[str] = frozenset()
    stages: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    time_relative: bool = False
    models: frozenset[str] = frozenset()

    def __or__(self, other: Dependencies) -> Dependencies:
        return Dependencies(
            self.event_names | other.event_names,
            self.trait_keys | other.trait_keys,
            self.stages | other.stages,
            self.segments | other.segments,
            self.time_relative or other.time_relative,
            self.models | other.models,
        )

    def overlaps(self, other: Dependencies) -> bool:
        """Whether a change described by `other` can alter a condition depending on `self`."""
        return bool(
            self.event_names & other.event_names
            or self.trait_keys & other.trait_keys
            or self.stages & other.stages
            or self.segments & other.segments
            or self.models & other.models
            or (self.time_relative and other.time_relative)
        )


def walk(condition: Condition, path: Path = ()) -> Iterator[tuple[Path, Condition]]:
    """Every condition in the tree, parents first, with its location below `path`."""
    yield path, condition
    match condition:
        case AllCondition():
            for index, child in enumerate(condition.all):
                yield from walk(child, (*path, "all", index))
        case AnyCondition():
            for index, child in enumerate(condition.any):
                yield from walk(child, (*path, "any", index))
        case NotCondition():
            yield from walk(condition.negated, (*path, "not"))


def dependencies(condition: Condition) -> Dependencies:
    """The event names, trait keys, stages and segments `condition` reads, and whether its
    value can change with time alone. A nested trait (`company.size`) depends on its
    top-level key too, since identify calls replace whole trait values."""
    found = Dependencies()
    for _, node in walk(condition):
        match node:
            case TraitCondition() if node.reads_date:
                # A date-only value is placed in the profile's time zone.
                keys = frozenset({node.trait, node.trait.split(".")[0], "timezone"})
                found |= Dependencies(trait_keys=keys, time_relative=True)
            case TraitCondition():
                keys = frozenset({node.trait, node.trait.split(".")[0]})
                found |= Dependencies(trait_keys=keys)
            case EventCondition():
                names = frozenset({node.event})
                found |= Dependencies(event_names=names, time_relative=node.within is not None)
            case StageCondition():
                stages = frozenset({node.stage})
                found |= Dependencies(stages=stages, time_relative=node.within is not None)
            case SegmentCondition():
                found |= Dependencies(segments=frozenset({node.segment}))
            case ClusterCondition():
                found |= Dependencies(models=frozenset({node.model}))
            case ActivationRiskCondition():
                # The risk appears when the observation window closes, event or not.
                found |= Dependencies(models=frozenset({node.model}), time_relative=True)
    return found


_CACHE: dict[int, tuple[Condition, Dependencies]] = {}
_CACHE_LIMIT = 4096


def cached_dependencies(condition: Condition) -> Dependencies:
    """`dependencies`, memoised per condition object (catalog conditions are immutable and
    evaluated for every event, so walking their trees each time would dominate)."""
    entry = _CACHE.get(id(condition))
    if entry is not None and entry[0] is condition:
        return entry[1]
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    found = dependencies(condition)
    _CACHE[id(condition)] = (condition, found)
    return found
