"""From per-group SQL sums to the results document (pure: no database, no HTTP).

The repository returns, for each (variant, persona at exposure) group, the number of
profiles eligible for a metric and Σy, Σy² over them. Sums add, so each persona's arms are
the groups themselves and each overall arm is their sum: one set of queries feeds both the
headline comparison and the per-persona breakdown, through the same `summarize` the CSV
analysis uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.catalog.definitions import Experiment
from engine.catalog.metrics import (
    EventCountMetric,
    EventMetric,
    Metric,
    RetentionMetric,
    StageMetric,
    span,
)
from engine.experiments.arms import ArmStats, empty_arm
from engine.experiments.bayesian import GaussianPrior
from engine.experiments.corrections import Correction, adjust_p_values
from engine.experiments.schemas import MetricResults
from engine.experiments.statistics import AnalysisOptions, Comparison, MinimumSample
from engine.experiments.summary import summarize, summarize_segments

NO_PERSONA = "(none)"
Group = tuple[str, str | None]


@dataclass(frozen=True)
class MetricData:
    """What SQL returned for one metric: eligible profiles and (Σy, Σy²) per group, and
    the CUPED covariate's (Σx, Σx², Σxy) when it was read (engine.experiments.covariates)."""

    metric: Metric
    role: str
    users: Mapping[Group, int]
    sums: Mapping[Group, tuple[float, float]]
    covariate: Mapping[Group, tuple[float, float, float]] | None = None


def metric_results(
    data: MetricData,
    experiment: Experiment,
    variants: Sequence[str],
    *,
    alpha: float = 0.05,
) -> MetricResults:
    """Arms, comparisons with control, persona breakdown and alerts of one metric."""
    metric = data.metric
    options = analysis_options(experiment, metric, alpha)
    overall, by_persona = build_arms(data, variants)
    weights = {name: float(weight) for name, weight in experiment.variants.items()}
    summary = summarize(overall, experiment.control, weights=weights, options=options)
    segments = summarize_segments(
        by_persona, experiment.control, weights=weights, options=options, variants=variants
    )
    document: dict[str, Any] = {
        **describe(metric, data.role),
        **summary.to_json(),
        "segments": [segment.to_json() for segment in segments],
        "alerts": [c.variant for c in summary.comparisons if is_worse(c, metric)],
    }
    return MetricResults.model_validate(document)


def analysis_options(experiment: Experiment, metric: Metric, alpha: float) -> AnalysisOptions:
    """The options every view of this experiment's metric uses: results, dashboard, export."""
    minimum, prior = experiment.minimum_sample, experiment.prior
    return AnalysisOptions(
        alpha=alpha,
        inverse=metric.better == "lower",
        prior=GaussianPrior(prior.mean, prior.variance) if prior is not None else None,
        minimum=MinimumSample(users=minimum.users, conversions=minimum.conversions),
    )


def adjust_across_metrics(
    sections: Sequence[MetricResults], correction: Correction
) -> list[MetricResults]:
    """`p_value_adjusted` of every metric's comparisons corrected over all of them at once
    (every metric and variant), when the experiment asks for it; per persona stays Holm."""
    if correction == "none":
        return list(sections)
    flat = [c.p_value for s in sections for c in s.comparisons]
    adjusted = iter(adjust_p_values(flat, correction))
    return [
        s.model_copy(
            update={
                "comparisons": [
                    c.model_copy(update={"p_value_adjusted": next(adjusted)}) for c in s.comparisons
                ]
            }
        )
        for s in sections
    ]


def build_arms(
    data: MetricData, variants: Sequence[str]
) -> tuple[dict[str, ArmStats], dict[str, dict[str, ArmStats]]]:
    """Overall arms (every variant, empty if nobody is eligible) and arms per persona."""
    kind = data.metric.measure
    with_covariate = data.covariate is not None
    overall = {name: empty_arm(kind, with_covariate=with_covariate) for name in variants}
    by_persona: dict[str, dict[str, ArmStats]] = {}
    for (variant, persona), users in sorted(data.users.items(), key=_group_order):
        if users == 0:
            continue
        total, squares = data.sums.get((variant, persona), (0.0, 0.0))
        arm = ArmStats(users, total, squares, kind)
        if data.covariate is not None:
            pre, pre_squares, products = data.covariate.get((variant, persona), (0.0, 0.0, 0.0))
            arm = replace(arm, pre_sum=pre, pre_sum_squares=pre_squares, sum_products=products)
        by_persona.setdefault(persona or NO_PERSONA, {})[variant] = arm
        empty = empty_arm(kind, with_covariate=with_covariate)
        overall[variant] = overall.get(variant, empty).combine(arm)
    return overall, dict(sorted(by_persona.items()))


def is_worse(comparison: Comparison, metric: Metric) -> bool:
    """The always-valid interval of the lift lies entirely on the bad side of zero."""
    interval = comparison.sequential_ci_relative or comparison.sequential_ci_absolute
    if interval is None:
        return False
    low, high = interval
    return low > 0 if metric.better == "lower" else high < 0


def describe(metric: Metric, role: str) -> dict[str, Any]:
    """The definition fields of a metric section."""
    return {
        "metric": metric.label,
        "role": role,
        "kind": metric.kind,
        "target": target_of(metric),
        "window": [span(metric.window_start), span(metric.window_end)],
        "measure": metric.measure,
        "better": metric.better,
    }


def target_of(metric: Metric) -> str | None:
    match metric:
        case StageMetric():
            return metric.stage
        case EventMetric():
            return metric.event
        case EventCountMetric():
            return metric.event_count
        case RetentionMetric():
            return None


def _group_order(item: tuple[Group, int]) -> tuple[str, str]:
    (variant, persona), _ = item
    return variant, persona or ""
