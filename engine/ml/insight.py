"""Per-persona experiment insight: which variant to ship to which persona, and why.

Input is what any source can produce: per persona, per variant, the sufficient statistics
of the activation metric (`ArmStats`), from SQL aggregates once assignments are stored or
from an exported CSV (`parcours personas insight --csv`). Every number comes from
`engine.experiments`: each variant is compared with control in each persona, and p-values
are adjusted over all (persona, variant) comparisons at once (Holm by default), because
scanning personas for a winner is exactly the multiple testing that manufactures winners.

The recommendation per persona:

    ship <variant>      some variant beat control with adjusted p < alpha; the one with the
                        largest lift among those
    keep control        no variant beat control (the reason says whether one did worse, and
                        how small a lift this sample could have detected)
    insufficient data   control or every variant has fewer than `min_users` users

Heterogeneity (Cochran's Q on the absolute lifts, per variant) says whether the effect
really differs between personas: a per-persona recommendation is only worth more than a
single global one when it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from scipy import special

from engine.experiments.arms import ArmStats
from engine.experiments.corrections import Correction
from engine.experiments.effects import absolute_effect
from engine.experiments.planning import minimum_detectable_effect
from engine.experiments.statistics import (
    AnalysisOptions,
    Comparison,
    degenerate_reason,
    finite,
    finite_pair,
)
from engine.experiments.summary import ExperimentSummary, summarize_segments

Decision = Literal["ship", "keep_control", "insufficient_data"]


@dataclass(frozen=True)
class VariantEvidence:
    """One variant against control in one persona."""

    variant: str
    users: int
    rate: float | None
    comparison: Comparison

    def to_json(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "variant": self.variant,
            "users": self.users,
            "rate": finite(self.rate),
            "absolute_lift": finite(c.absolute_lift),
            "ci_absolute": finite_pair(c.ci_absolute),
            "relative_lift": finite(c.relative_lift),
            "ci_relative": finite_pair(c.ci_relative),
            "p_value": finite(c.p_value),
            "p_value_adjusted": finite(c.p_value_adjusted),
            "chance_to_win": finite(c.chance_to_win),
            "reason": c.reason,
        }


@dataclass(frozen=True)
class PersonaInsight:
    """The recommendation for one persona and the evidence behind it."""

    persona: str
    decision: Decision
    ship: str
    reason: str
    control_users: int
    control_rate: float | None
    variants: tuple[VariantEvidence, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "persona": self.persona,
            "decision": self.decision,
            "ship": self.ship,
            "reason": self.reason,
            "control_users": self.control_users,
            "control_rate": finite(self.control_rate),
            "variants": [v.to_json() for v in self.variants],
        }


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q: do a variant's absolute lifts differ between personas?"""

    variant: str
    personas: int
    q: float | None
    p_value: float | None
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "personas": self.personas,
            "q": finite(self.q),
            "p_value": finite(self.p_value),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Insight:
    control: str
    alpha: float
    correction: Correction
    comparisons: int
    personas: tuple[PersonaInsight, ...]
    heterogeneity: tuple[Heterogeneity, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "alpha": self.alpha,
            "correction": self.correction,
            "comparisons": self.comparisons,
            "personas": [p.to_json() for p in self.personas],
            "heterogeneity": [h.to_json() for h in self.heterogeneity],
        }


def persona_insight(
    arms_by_persona: Mapping[str, Mapping[str, ArmStats]],
    control: str,
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    min_users: int = 100,
) -> Insight:
    """Recommend a variant per persona from per-persona arms of a conversion metric."""
    options = AnalysisOptions(alpha=alpha)
    summaries = summarize_segments(arms_by_persona, control, options=options, correction=correction)
    tested = sum(
        1 for s in summaries for c in s.summary.comparisons if c.p_value_adjusted is not None
    )
    personas = tuple(
        _recommend(s.segment, s.summary, alpha, correction, tested, min_users) for s in summaries
    )
    variants = [v.variant for v in summaries[0].summary.variants[1:]] if summaries else []
    heterogeneity = tuple(_heterogeneity(arms_by_persona, control, v) for v in variants)
    return Insight(control, alpha, correction, tested, personas, heterogeneity)


def _recommend(
    persona: str,
    summary: ExperimentSummary,
    alpha: float,
    correction: Correction,
    tested: int,
    min_users: int,
) -> PersonaInsight:
    control_arm = summary.variants[0]
    arms = {v.variant: v for v in summary.variants}
    evidence = tuple(
        VariantEvidence(c.variant, arms[c.variant].users, arms[c.variant].mean, c)
        for c in summary.comparisons
    )

    def decided(decision: Decision, ship: str, reason: str) -> PersonaInsight:
        rate = control_arm.mean
        return PersonaInsight(persona, decision, ship, reason, control_arm.users, rate, evidence)

    enough = [e for e in evidence if e.users >= min_users]
    if control_arm.users < min_users or not enough:
        return decided(
            "insufficient_data",
            summary.control,
            f"fewer than {min_users} users in control or in every variant; keep control",
        )
    adjusted = f"{_correction_name(correction)} over {tested} comparisons"
    significant = [e for e in enough if _significant(e.comparison, alpha)]
    winners = [e for e in significant if (e.comparison.absolute_lift or 0.0) > 0]
    if winners:
        best = max(winners, key=lambda e: e.comparison.absolute_lift or 0.0)
        text = f"{best.variant} raised activation from {_pct(control_arm.mean)} to "
        text += f"{_pct(best.rate)} ({_lift(best.comparison)}; adjusted p {_p(best)}, {adjusted})"
        return decided("ship", best.variant, text)
    losers = [e for e in significant if (e.comparison.absolute_lift or 0.0) < 0]
    if losers:
        worst = min(losers, key=lambda e: e.comparison.absolute_lift or 0.0)
        text = f"no variant beat control; {worst.variant} lowered activation "
        text += f"({_lift(worst.comparison)}; adjusted p {_p(worst)}, {adjusted})"
        return decided("keep_control", summary.control, text)
    best = max(enough, key=lambda e: e.comparison.absolute_lift or 0.0)
    text = f"no variant differs from control at alpha {alpha:g} ({adjusted}); "
    text += f"best observed: {best.variant} {_lift(best.comparison)}"
    text += _detectable(control_arm.users, best.users, control_arm.mean, alpha)
    return decided("keep_control", summary.control, text)


def _significant(comparison: Comparison, alpha: float) -> bool:
    p = comparison.p_value_adjusted
    return p is not None and p < alpha and comparison.absolute_lift is not None


def _heterogeneity(
    arms_by_persona: Mapping[str, Mapping[str, ArmStats]], control: str, variant: str
) -> Heterogeneity:
    """Q = sum w_i (d_i - d_w)^2 with w_i = 1 / Var(d_i), chi-square with m - 1 degrees."""
    effects = []
    for arms in arms_by_persona.values():
        a, b = arms.get(control), arms.get(variant)
        if a is not None and b is not None and degenerate_reason(a, b) is None:
            effect = absolute_effect(a, b)
            if effect.variance > 0:
                effects.append(effect)
    if len(effects) < 2:
        return Heterogeneity(variant, len(effects), None, None, "fewer_than_two_personas")
    weights = [1.0 / e.variance for e in effects]
    pooled = sum(w * e.point for w, e in zip(weights, effects, strict=True)) / sum(weights)
    q = sum(w * (e.point - pooled) ** 2 for w, e in zip(weights, effects, strict=True))
    p_value = float(special.chdtrc(len(effects) - 1, q))
    return Heterogeneity(variant, len(effects), q, p_value, None)


def _detectable(control_users: int, variant_users: int, rate: float | None, alpha: float) -> str:
    total = control_users + variant_users
    if rate is None or total == 0:
        return ""
    mde = minimum_detectable_effect(
        total,
        1,
        rate,
        control_share=control_users / total,
        variant_share=variant_users / total,
        alpha=alpha,
    )
    if mde.absolute is None:
        return ""
    return f"; this sample detects lifts of about {mde.absolute * 100:.1f} pp with 80% power"


def _correction_name(correction: Correction) -> str:
    return {"holm": "Holm-adjusted", "bh": "Benjamini-Hochberg-adjusted"}.get(
        correction, "unadjusted"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _p(evidence: VariantEvidence) -> str:
    p = evidence.comparison.p_value_adjusted
    return "n/a" if p is None else ("< 0.0001" if p < 1e-4 else f"{p:.4f}")


def _lift(comparison: Comparison) -> str:
    lift, interval = comparison.absolute_lift, comparison.ci_absolute
    if lift is None:
        return "no lift measured"
    text = f"{lift * 100:+.1f} pp"
    if interval is not None:
        text += f", 95% CI {interval[0] * 100:+.1f} to {interval[1] * 100:+.1f} pp"
    return text
