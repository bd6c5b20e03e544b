"""Cross-checks of experiment metrics: stages they measure exist, names are unique.

The default primary metric is the stage `activation`; a catalog without that stage must say
what its experiments measure, or every result would silently read 0%.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.catalog.collect import Definitions
from engine.catalog.definitions import Experiment, GlobalHoldout
from engine.catalog.metrics import Metric, StageMetric
from engine.catalog.problems import Problem
from engine.catalog.references import Names, unknown
from engine.catalog.yamlfile import Loc, Located


def check_experiment_metrics(definitions: Definitions, names: Names) -> Iterator[Problem]:
    """Metric problems of every flow experiment and of the global holdout."""
    for located in definitions.flows.values():
        experiment = located.value.experiment
        if experiment is not None:
            yield from _metric_problems(located, ("experiment",), experiment, names)
    if definitions.holdout is not None:
        holdout: Located[GlobalHoldout] = definitions.holdout
        yield from _metric_problems(holdout, (), holdout.value, names)


def _metric_problems(
    located: Located[Any], prefix: Loc, owner: Experiment | GlobalHoldout, names: Names
) -> Iterator[Problem]:
    seen: set[str] = set()
    for where, metric in _metrics(owner, tuple(prefix)):
        if isinstance(metric, StageMetric) and metric.stage not in names.stages:
            message = unknown("stage", metric.stage, names.stages)
            if where[-1] == "metric" and "metric" not in owner.model_fields_set:
                message = (
                    f"experiments measure the stage '{metric.stage}' by default, and it is not "
                    "a stage; say what this one measures with `metric: {stage: ..., within: ...}`"
                )
                yield located.problem((*prefix, _name_key(owner)), message)
                continue
            yield located.problem((*where, "stage"), message)
        if metric.label in seen:
            message = f"two metrics are named '{metric.label}'; give one a different `name`"
            yield located.problem(where, message)
        seen.add(metric.label)


def _metrics(owner: Experiment | GlobalHoldout, prefix: Loc) -> Iterator[tuple[Loc, Metric]]:
    yield (*prefix, "metric"), owner.metric
    for index, metric in enumerate(owner.secondary):
        yield (*prefix, "secondary", index), metric
    for index, metric in enumerate(owner.guardrails):
        yield (*prefix, "guardrails", index), metric


def _name_key(owner: Experiment | GlobalHoldout) -> str:
    return "key" if isinstance(owner, Experiment) else "holdout"
