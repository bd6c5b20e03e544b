"""One variant against control: every statistic the report shows, from sufficient statistics.

    compare_arms(control, variant, options) -> Comparison

Frequentist (effects.py): Welch t-test and intervals for the absolute and the relative lift.
`p_value` (and `sequential_p_value`, CUPED's p-value) test the relative lift with the
delta-method standard error and Welch's degrees of freedom, as gbstats does, so each agrees
with its relative interval; `p_value_absolute` is the classical Welch test of the difference,
agreeing with `ci_absolute`. Without a relative lift (zero baseline) every p-value tests the
absolute lift.
Bayesian (bayesian.py): chance to win and risk from a normal model of the relative lift.
Sequential (sequential.py): always-valid intervals that may be checked every day.
CUPED (effects.py): the same lifts with a pre-exposure covariate removing explained variance.

Degenerate inputs never raise and never produce NaN: an empty arm, a single user, a sample
below the minimum, a constant metric or a zero baseline give a Comparison whose `reason` names
the cause:

    empty_arm        an arm has no users                                     neutral
    too_few_users    an arm has one user (no variance estimate)              neutral
    not_enough_data  an arm is below `options.minimum` (users, conversions)  neutral
    zero_variance    a mean metric is constant in an arm                     neutral
    boundary_rate    a conversion rate is 0% or 100% in an arm: the absolute lift with
                     Newcombe's interval and Fisher's exact p-value (exact.py), nothing else
    baseline_zero    control's mean is 0: absolute results only, no relative lift

A neutral Comparison keeps the descriptive lifts and leaves every inferential field None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.experiments.arms import ArmStats
from engine.experiments.bayesian import GaussianPrior, bayesian_lift
from engine.experiments.effects import (
    Effect,
    absolute_effect,
    cuped_absolute_effect,
    cuped_relative_effect,
    pooled_theta,
    relative_effect,
)
from engine.experiments.exact import boundary_effect
from engine.experiments.sequential import DEFAULT_TUNING, sequential_interval, sequential_p_value

Interval = tuple[float, float]


@dataclass(frozen=True)
class MinimumSample:
    """Per arm, the least data worth a finding: users, and conversions (a rate metric) or
    the metric's total (a mean metric). Below it a comparison is `not_enough_data`."""

    users: int = 0
    conversions: int = 0

    def met_by(self, arm: ArmStats) -> bool:
        return arm.users >= self.users and arm.sum >= self.conversions


@dataclass(frozen=True)
class AnalysisOptions:
    """Settings shared by every comparison of one analysis.

    alpha: 1 - confidence level of every interval (fixed, sequential and Bayesian alike).
    sequential_tuning: users in the comparison at which the sequential interval is tightest.
    prior: informative prior on the relative lift; None is gbstats' flat prior.
    inverse: True when lower is better (unsubscribe rate): flips chance to win and risk.
    minimum: the sample each arm needs before anything is inferred (none by default).
    """

    alpha: float = 0.05
    sequential_tuning: float = DEFAULT_TUNING
    prior: GaussianPrior | None = None
    inverse: bool = False
    minimum: MinimumSample = MinimumSample()

    def __post_init__(self) -> None:
        # Settings are code, not data: a wrong one is a bug to surface, not a neutral result.
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if not self.sequential_tuning > 0:
            raise ValueError(f"sequential_tuning must be positive, got {self.sequential_tuning}")


@dataclass(frozen=True)
class CupedResult:
    """Lifts after CUPED adjustment with θ pooled over the two arms."""

    theta: float
    absolute_lift: float
    relative_lift: float | None
    ci_absolute: Interval | None
    ci_relative: Interval | None
    p_value: float | None
    variance_reduction: float | None


@dataclass(frozen=True)
class Comparison:
    """A variant against control; see the module docstring for `reason`."""

    variant: str
    reason: str | None
    absolute_lift: float | None = None
    relative_lift: float | None = None
    ci_absolute: Interval | None = None
    ci_relative: Interval | None = None
    p_value: float | None = None
    p_value_absolute: float | None = None
    p_value_adjusted: float | None = None
    chance_to_win: float | None = None
    risk: float | None = None
    risk_control: float | None = None
    sequential_ci_absolute: Interval | None = None
    sequential_ci_relative: Interval | None = None
    sequential_p_value: float | None = None
    cuped: CupedResult | None = field(default=None)

    def to_json(self, *, with_cuped: bool = False) -> dict[str, Any]:
        """Plain JSON values (None for missing, never NaN); CUPED keys flattened when asked."""
        out: dict[str, Any] = {
            "variant": self.variant,
            "reason": self.reason,
            "absolute_lift": finite(self.absolute_lift),
            "relative_lift": finite(self.relative_lift),
            "ci_absolute": finite_pair(self.ci_absolute),
            "ci_relative": finite_pair(self.ci_relative),
            "p_value": finite(self.p_value),
            "p_value_absolute": finite(self.p_value_absolute),
            "p_value_adjusted": finite(self.p_value_adjusted),
            "chance_to_win": finite(self.chance_to_win),
            "risk": finite(self.risk),
            "risk_control": finite(self.risk_control),
            "sequential_ci_absolute": finite_pair(self.sequential_ci_absolute),
            "sequential_ci_relative": finite_pair(self.sequential_ci_relative),
            "sequential_p_value": finite(self.sequential_p_value),
        }
        if with_cuped:
            out.update(_cuped_json(self.cuped))
        return out


def compare_arms(
    control: ArmStats,
    variant: ArmStats,
    options: AnalysisOptions = AnalysisOptions(),
    *,
    name: str = "variant",
) -> Comparison:
    """Every statistic of `variant` against `control`, or a neutral result with a reason."""
    reason = degenerate_reason(control, variant)
    enough = options.minimum.met_by(control) and options.minimum.met_by(variant)
    if reason in (None, "zero_variance") and not enough:
        reason = "not_enough_data"
    if reason == "zero_variance" and control.kind == variant.kind == "proportion":
        return _boundary(control, variant, name, options.alpha)
    if reason is not None:
        return _neutral(control, variant, name, reason)
    absolute = absolute_effect(control, variant)
    relative = relative_effect(control, variant) if control.mean != 0 else None
    # p-values test the relative lift, as gbstats does, so they agree with ci_relative.
    tested = relative or absolute
    users = control.users + variant.users
    alpha, tuning = options.alpha, options.sequential_tuning
    result = Comparison(
        variant=name,
        reason=None if relative else "baseline_zero",
        absolute_lift=absolute.point,
        ci_absolute=absolute.interval(alpha),
        p_value=tested.p_value(),
        p_value_absolute=absolute.p_value(),
        sequential_ci_absolute=_sequential(absolute, users, options),
        sequential_p_value=sequential_p_value(
            tested.point, tested.standard_error, users, alpha, tuning
        ),
        cuped=_cuped(control, variant, options),
    )
    if relative is None:
        return result
    bayes = bayesian_lift(relative.point, relative.variance, options.prior, inverse=options.inverse)
    return replace(
        result,
        relative_lift=relative.point,
        ci_relative=relative.interval(alpha),
        sequential_ci_relative=_sequential(relative, users, options),
        chance_to_win=bayes.chance_to_win,
        risk=bayes.risk,
        risk_control=bayes.risk_control,
    )


def degenerate_reason(control: ArmStats, variant: ArmStats) -> str | None:
    """Why no inference is possible for this pair, or None when it is."""
    if control.users == 0 or variant.users == 0:
        return "empty_arm"
    if control.users < 2 or variant.users < 2:
        return "too_few_users"
    if control.variance <= 0 or variant.variance <= 0:
        return "zero_variance"
    return None


def finite(value: float | None) -> float | None:
    """The value if it is a finite number, else None: JSON has no NaN or infinity."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def finite_pair(pair: Interval | None) -> list[float] | None:
    """An interval as a two-element list, or None if either end is not finite."""
    if pair is None:
        return None
    low, high = finite(pair[0]), finite(pair[1])
    return None if low is None or high is None else [low, high]


def _neutral(control: ArmStats, variant: ArmStats, name: str, reason: str) -> Comparison:
    """Descriptive lifts where they are defined; no test, interval or probability."""
    if control.users == 0 or variant.users == 0:
        return Comparison(variant=name, reason=reason)
    absolute = variant.mean - control.mean
    relative = absolute / abs(control.mean) if control.mean != 0 else None
    return Comparison(variant=name, reason=reason, absolute_lift=absolute, relative_lift=relative)


def _boundary(control: ArmStats, variant: ArmStats, name: str, alpha: float) -> Comparison:
    """A rate at 0% or 100%: exact inference on the absolute lift (exact.py), flagged."""
    exact = boundary_effect(control, variant, alpha)
    neutral = _neutral(control, variant, name, "boundary_rate")
    return replace(
        neutral, ci_absolute=exact.interval, p_value=exact.p_value, p_value_absolute=exact.p_value
    )


def _sequential(effect: Effect, users: int, options: AnalysisOptions) -> Interval:
    return sequential_interval(
        effect.point, effect.standard_error, users, options.alpha, options.sequential_tuning
    )


def _cuped(control: ArmStats, variant: ArmStats, options: AnalysisOptions) -> CupedResult | None:
    """CUPED lifts, or None when either arm lacks the covariate sums or has no adjusted spread."""
    if not (control.has_covariate and variant.has_covariate):
        return None
    theta = pooled_theta(control, variant)
    absolute = cuped_absolute_effect(control, variant, theta)
    if absolute.variance <= 0:
        return None
    plain = absolute_effect(control, variant).variance
    relative = cuped_relative_effect(control, variant, theta) if control.mean != 0 else None
    return CupedResult(
        theta=theta,
        absolute_lift=absolute.point,
        relative_lift=relative.point if relative else None,
        ci_absolute=absolute.interval(options.alpha),
        ci_relative=relative.interval(options.alpha) if relative else None,
        p_value=(relative or absolute).p_value(),
        variance_reduction=1.0 - absolute.variance / plain if plain > 0 else None,
    )


def _cuped_json(cuped: CupedResult | None) -> Mapping[str, Any]:
    return {
        "cuped_theta": finite(cuped.theta) if cuped else None,
        "cuped_absolute_lift": finite(cuped.absolute_lift) if cuped else None,
        "cuped_relative_lift": finite(cuped.relative_lift) if cuped else None,
        "cuped_ci_absolute": finite_pair(cuped.ci_absolute) if cuped else None,
        "cuped_ci_relative": finite_pair(cuped.ci_relative) if cuped else None,
        "cuped_p_value": finite(cuped.p_value) if cuped else None,
        "cuped_variance_reduction": finite(cuped.variance_reduction) if cuped else None,
    }
