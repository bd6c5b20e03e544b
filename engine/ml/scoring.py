"""Which models a catalog's conditions use, and their outputs for one profile.

Model conditions (`cluster` for discovered personas, `activation_risk`) read a model's
output the way trait conditions read a trait: evaluation stays a pure lookup in
`ProfileFacts.model_outputs`, and this module fills that mapping. A model is re-scored
only when something it reads changed (`ModelUse.reads` against the change being
evaluated); the names of re-scored models are then part of the change, so the segments
using them are re-evaluated and no others.

Output keys are what conditions name: `personas@2` for a pinned version, `activation` for
"the latest version of activation" (resolved once, when the catalog is loaded).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from engine.catalog.conditions import ActivationRiskCondition, ClusterCondition
from engine.catalog.dependencies import Dependencies, dependencies
from engine.ml.observe import FactsLike
from engine.ml.predict import ActivationModel, LoadedModel

if TYPE_CHECKING:
    from engine.catalog.catalog import Catalog

Output = int | float | None
ModelCondition = ClusterCondition | ActivationRiskCondition


@dataclass(frozen=True, eq=False)
class ModelUse:
    """A model as conditions refer to it: the output key conditions read, and the model."""

    key: str
    model: LoadedModel
    reads: Dependencies  # when to re-score: the model's inputs and its segments' other reads
    inputs: Dependencies  # what the model itself reads (events to load)


def resolve(
    models: Mapping[str, LoadedModel], name: str, version: int | None
) -> LoadedModel | None:
    """Model `name` at `version`, or its latest loaded version when `version` is None."""
    if version is not None:
        return models.get(f"{name}@{version}")
    versions = [m for m in models.values() if m.name == name]
    return max(versions, key=lambda m: m.version) if versions else None


@lru_cache(maxsize=16)
def model_uses(
    catalog: Catalog, scope: Literal["audience", "all"] = "audience"
) -> tuple[ModelUse, ...]:
    """Models used by the segment conditions (`audience`), or by any condition of the
    catalog, flows included (`all`).

    A use is re-scored when its model's inputs change, and also when anything else a
    segment using it reads changes: `all: [{cluster: 1, ...}, {trait: vip, ...}]` is
    re-evaluated when `vip` changes, and must then see the model's output.
    """
    roots: list[Any] = [segment.when for segment in catalog.segments.values()]
    if scope == "all":
        roots += list(catalog.flows.values())
    co_reads: dict[str, Dependencies] = {}
    for segment in catalog.segments.values():
        for condition in _model_conditions([segment.when]):
            found = co_reads.get(condition.output_key, Dependencies())
            others = replace(dependencies(segment.when), models=frozenset())
            co_reads[condition.output_key] = found | others
    uses: dict[str, ModelUse] = {}
    for condition in _model_conditions(roots):
        key = condition.output_key
        model = resolve(catalog.models, condition.model, condition.version)
        if model is not None and key not in uses:
            reads = _reads(model) | co_reads.get(key, Dependencies())
            uses[key] = ModelUse(key, model, reads, _reads(model))
    return tuple(uses.values())


def model_dependencies(uses: Iterable[ModelUse]) -> Dependencies:
    """Everything the models read: the events to load and the changes that matter."""
    found = Dependencies()
    for use in uses:
        found |= use.inputs
    return found


def observation_windows(uses: Iterable[ModelUse]) -> list[timedelta]:
    """Windows after which a time-relative model's output appears without any event."""
    return [use.model.window for use in uses if isinstance(use.model, ActivationModel)]


def score(
    uses: Iterable[ModelUse], facts: FactsLike, now: datetime, changed: Dependencies | None
) -> tuple[dict[str, Output], frozenset[str]]:
    """Outputs of the models whose inputs overlap `changed` (all when None), and the names
    of the models scored."""
    outputs: dict[str, Output] = {}
    scored: dict[int, Output] = {}
    names: set[str] = set()
    for use in uses:
        if changed is not None and not use.reads.overlaps(changed):
            continue
        if id(use.model) not in scored:
            scored[id(use.model)] = use.model.outputs([facts], now)[0]
        outputs[use.key] = scored[id(use.model)]
        names.add(use.model.name)
    return outputs, frozenset(names)


def _reads(model: LoadedModel) -> Dependencies:
    reads = model.reads
    return Dependencies(
        event_names=reads.event_names,
        trait_keys=reads.trait_keys,
        stages=reads.stages,
        time_relative=reads.time_relative,
    )


def _model_conditions(values: Iterable[Any]) -> Iterator[ModelCondition]:
    """Every model condition inside `values` (conditions, flows, steps: any content model)."""
    for value in values:
        if isinstance(value, ClusterCondition | ActivationRiskCondition):
            yield value
        elif isinstance(value, BaseModel):
            yield from _model_conditions(getattr(value, name) for name in type(value).model_fields)
        elif isinstance(value, tuple | list):
            yield from _model_conditions(value)
        elif isinstance(value, Mapping):
            yield from _model_conditions(value.values())
