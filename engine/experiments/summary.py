"""A whole experiment from per-arm sufficient statistics: the shape every front end shows.

    summarize(arms, control, weights=..., options=..., correction=...) -> ExperimentSummary
    summarize_segments(arms_by_segment, control, ...) -> tuple[SegmentSummary, ...]

Each non-control variant is compared with control (statistics.compare_arms), the split is
checked against the design weights (srm.srm_test), and p-values are adjusted across the
variants (`correction`, none by default) or, for a persona breakdown, across every
(segment, variant) comparison at once (`holm` by default), since scanning personas for a
winner is exactly the multiple testing the correction exists for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.experiments.arms import ArmStats, MetricKind, empty_arm
from engine.experiments.corrections import Correction, adjust_p_values
from engine.experiments.srm import SrmResult, srm_test
from engine.experiments.statistics import AnalysisOptions, Comparison, compare_arms, finite


@dataclass(frozen=True)
class VariantSummary:
    """Descriptive numbers of one arm: users, metric total and mean (the rate, for conversions)."""

    variant: str
    users: int
    total: float
    mean: float | None

    def to_json(self, kind: MetricKind) -> dict[str, Any]:
        if kind == "proportion":
            conversions = round(self.total) if float(self.total).is_integer() else self.total
            return {
                "variant": self.variant,
                "users": self.users,
                "conversions": conversions,
                "rate": finite(self.mean),
            }
        return {
            "variant": self.variant,
            "users": self.users,
            "total": finite(self.total),
            "mean": finite(self.mean),
        }


@dataclass(frozen=True)
class ExperimentSummary:
    """Arms, comparisons against control and the sample-ratio check of one metric."""

    control: str
    kind: MetricKind
    variants: tuple[VariantSummary, ...]
    comparisons: tuple[Comparison, ...]
    srm: SrmResult
    has_covariate: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "users": sum(v.users for v in self.variants),
            "srm_p_value": finite(self.srm.p_value),
            "srm_reason": self.srm.reason,
            "srm_warning": self.srm.warning,
            "variants": [v.to_json(self.kind) for v in self.variants],
            "comparisons": [c.to_json(with_cuped=self.has_covariate) for c in self.comparisons],
        }


@dataclass(frozen=True)
class SegmentSummary:
    """One persona's summary; its adjusted p-values account for every segment tested."""

    segment: str
    summary: ExperimentSummary

    def to_json(self) -> dict[str, Any]:
        return {"segment": self.segment, **self.summary.to_json()}


def summarize(
    arms: Mapping[str, ArmStats],
    control: str,
    *,
    weights: Mapping[str, float] | None = None,
    options: AnalysisOptions = AnalysisOptions(),
    correction: Correction = "none",
) -> ExperimentSummary:
    """Compare every arm with `control` (missing arms count as empty); weights default equal."""
    names = [control, *(name for name in arms if name != control)]
    kind = _kind(arms.values())
    with_covariate = any(arm.has_covariate for arm in arms.values())
    filled = {
        name: arms.get(name) or empty_arm(kind, with_covariate=with_covariate) for name in names
    }
    design = [weights.get(name, 0.0) if weights is not None else 1.0 for name in names]
    comparisons = [
        compare_arms(filled[control], filled[name], options, name=name) for name in names[1:]
    ]
    adjusted = adjust_p_values([c.p_value for c in comparisons], correction)
    return ExperimentSummary(
        control=control,
        kind=kind,
        variants=tuple(_variant_summary(name, filled[name]) for name in names),
        comparisons=tuple(
            replace(c, p_value_adjusted=p) for c, p in zip(comparisons, adjusted, strict=True)
        ),
        srm=srm_test([filled[name].users for name in names], design),
        has_covariate=with_covariate,
    )


def summarize_segments(
    arms_by_segment: Mapping[str, Mapping[str, ArmStats]],
    control: str,
    *,
    weights: Mapping[str, float] | None = None,
    options: AnalysisOptions = AnalysisOptions(),
    correction: Correction = "holm",
    variants: Sequence[str] | None = None,
) -> tuple[SegmentSummary, ...]:
    """Per-segment summaries with p-values adjusted over all (segment, variant) pairs.

    Every segment lists every variant (`variants`, default: all seen, in first-seen order),
    an arm with no users in that segment being neutral with reason `empty_arm`.
    """
    variant_names = list(variants) if variants is not None else _all_names(arms_by_segment.values())
    raw = [
        (
            segment,
            summarize(_with_names(arms, variant_names), control, weights=weights, options=options),
        )
        for segment, arms in arms_by_segment.items()
    ]
    flat = [c.p_value for _, summary in raw for c in summary.comparisons]
    adjusted = iter(adjust_p_values(flat, correction))
    out = []
    for segment, summary in raw:
        comparisons = tuple(
            replace(c, p_value_adjusted=next(adjusted)) for c in summary.comparisons
        )
        out.append(SegmentSummary(segment, replace(summary, comparisons=comparisons)))
    return tuple(out)


def _variant_summary(name: str, arm: ArmStats) -> VariantSummary:
    return VariantSummary(name, arm.users, arm.sum, arm.mean if arm.users > 0 else None)


def _kind(arms: Iterable[ArmStats]) -> MetricKind:
    kinds = {arm.kind for arm in arms}
    return "proportion" if kinds == {"proportion"} else "mean"


def _all_names(groups: Iterable[Mapping[str, ArmStats]]) -> list[str]:
    names: list[str] = []
    for arms in groups:
        names.extend(name for name in arms if name not in names)
    return names


def _with_names(arms: Mapping[str, ArmStats], names: Sequence[str]) -> dict[str, ArmStats]:
    """Every experiment arm in every segment, in one order, so segment tables line up."""
    kind = _kind(arms.values())
    covariate = any(arm.has_covariate for arm in arms.values())
    return {name: arms.get(name) or empty_arm(kind, with_covariate=covariate) for name in names}
