# Formulas below use Greek letters on purpose (α, σ, ρ, ν, θ).
# ruff: noqa: RUF002, RUF003
"""Planning: what lift can this traffic detect, and how many days until it can detect mine?

The plan sizes for the test the report's headline uses (`test="relative"`, the default):
`p_value` rejects when |T| > z₁₋α/₂ for T = r̂/ŝe(r̂), the relative lift r̂ = ȳ_B/ȳ_A - 1 over
its delta-method standard error, each arm with its own variance evaluated at the estimates.
With a fraction s_A of the N users in control and s_B in the variant, write T = √N·f(ȳ_A, ȳ_B)
where f does not depend on N:

    f(a, b) = (b/a - 1) / √(σ²(b)/(s_B a²) + σ²(a) b²/(s_A a⁴))
              σ²(p) = p(1 - p) for a rate; the given variance in both arms for a mean metric

At the truth a = m (the baseline), b = m(1 + r), a second-order expansion gives

    E[T]  ≈ √N f + c/√N,   c = ½ (f_aa σ²(a)/s_A + f_bb σ²(b)/s_B)
    sd[T] ≈ τ = √(f_a² σ²(a)/s_A + f_b² σ²(b)/s_B)        (no N: ŝe moves with r̂)

and power 1 - β needs E[T] = z₁₋α/₂ + z₁₋β τ: a quadratic in √N, solved for N (the
derivatives are central differences). τ is well below 1 for an increase (0.75-0.9 at a 10%
baseline), so the textbook formula, which takes sd[T] = 1, the baseline variance in both arms
and the absolute test's standard error (`test="absolute"`, kept as the classical plan that
statsmodels' NormalIndPower computes), leaves the headline p-value 68-76% power at +10% to
+30% on a 10% baseline instead of 80%; this plan gives 79.7-80.5% by simulation
(tests/experiments/test_planning.py).

    MDE    = the r > 0 with N(r) = N (bisection); none when no rate up to 100% is detectable
    days   = ⌈N(r) / users per day⌉

The far tail's contribution to power is ignored (under 1e-5 for power ≥ 0.5), and so is the
estimated variance's own spread for a mean metric. Several variants: pass each arm's share,
and α divided by the number of comparisons if you will apply a Bonferroni-type correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import special

PlannedTest = Literal["relative", "absolute"]


@dataclass(frozen=True)
class MdeResult:
    """Smallest lift detectable with the given power; None plus `reason` when undefined."""

    users: int
    absolute: float | None
    relative: float | None
    reason: str | None = None


@dataclass(frozen=True)
class DaysResult:
    """Days (and users) needed to detect `relative_lift`; None plus `reason` when undefined."""

    days: int | None
    users: int | None
    reason: str | None = None


@dataclass(frozen=True)
class Design:
    """What a plan needs besides the traffic: the baseline, the split, α, power and test."""

    baseline: float
    variance: float | None = None  # None: a conversion rate, σ² = p(1 - p)
    control_share: float = 0.5
    variant_share: float = 0.5
    alpha: float = 0.05
    power: float = 0.8
    test: PlannedTest = "relative"

    @property
    def z_squared(self) -> float:
        z = float(special.ndtri(1.0 - self.alpha / 2.0)) + float(special.ndtri(self.power))
        return z * z

    @property
    def sigma2(self) -> float:
        base = self.baseline
        return base * (1.0 - base) if self.variance is None else self.variance

    def problem(self) -> str | None:
        if self.control_share <= 0 or self.variant_share <= 0:
            return "no_traffic"
        if self.sigma2 <= 0:
            return "zero_variance"
        if self.baseline == 0:
            return "baseline_zero"
        return None

    def users_for(self, relative_lift: float) -> float:
        """N(r): users in all arms for power at the lift r (caller checks `problem`)."""
        if self.test == "absolute":
            delta = relative_lift * self.baseline
            factor = 1 / self.control_share + 1 / self.variant_share
            return self.z_squared * self.sigma2 * factor / delta**2
        a, b = self.baseline, self.baseline * (1.0 + relative_lift)
        da, db = 1e-4 * abs(a), 1e-4 * abs(b)
        f0, f = self._statistic(a, b), self._statistic
        f_a = (f(a + da, b) - f(a - da, b)) / (2 * da)
        f_b = (f(a, b + db) - f(a, b - db)) / (2 * db)
        f_aa = (f(a + da, b) - 2 * f0 + f(a - da, b)) / da**2
        f_bb = (f(a, b + db) - 2 * f0 + f(a, b - db)) / db**2
        var_a = self._variance(a) / self.control_share
        var_b = self._variance(b) / self.variant_share
        tau = math.sqrt(f_a**2 * var_a + f_b**2 * var_b)
        c = 0.5 * (f_aa * var_a + f_bb * var_b) * (1.0 if f0 > 0 else -1.0)  # bias towards 0
        k = float(special.ndtri(1.0 - self.alpha / 2.0)) + float(special.ndtri(self.power)) * tau
        root_n = (k + math.sqrt(max(0.0, k * k - 4.0 * abs(f0) * c))) / (2.0 * abs(f0))
        return root_n * root_n

    def _variance(self, p: float) -> float:
        return p * (1.0 - p) if self.variance is None else self.variance

    def _statistic(self, a: float, b: float) -> float:
        """f(a, b) of the module docstring: T/√N at control mean a and variant mean b."""
        spread = self._variance(b) / (self.variant_share * a * a) + self._variance(a) * b * b / (
            self.control_share * a**4
        )
        return (b / a - 1.0) / math.sqrt(spread)


def minimum_detectable_effect(
    daily_users: float,
    days: float,
    baseline: float,
    *,
    variance: float | None = None,
    control_share: float = 0.5,
    variant_share: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    test: PlannedTest = "relative",
) -> MdeResult:
    """MDE (an increase) after `days` at `daily_users` entering the experiment (all arms).

    `baseline` is the control's conversion rate; for a mean metric give its mean and its
    per-user `variance`.
    """
    design = Design(baseline, variance, control_share, variant_share, alpha, power, test)
    users = max(0, int(daily_users * days))
    if users * min(control_share, variant_share) <= 0:
        return MdeResult(users, None, None, "no_traffic")
    problem = design.problem()
    if problem == "baseline_zero":  # the absolute lift is still detectable
        return MdeResult(users, _absolute_mde(design, users), None, problem)
    if problem is not None:
        return MdeResult(users, None, None, problem)
    if test == "absolute":
        absolute = _absolute_mde(design, users)
        return MdeResult(users, absolute, absolute / abs(baseline))
    relative = _relative_mde(design, users)
    if relative is None:
        return MdeResult(users, None, None, "no_detectable_lift")
    return MdeResult(users, relative * abs(baseline), relative)


def days_needed(
    daily_users: float,
    baseline: float,
    relative_lift: float,
    *,
    variance: float | None = None,
    control_share: float = 0.5,
    variant_share: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    test: PlannedTest = "relative",
) -> DaysResult:
    """Days at the current traffic to detect `relative_lift` (0.05 = +5%) with the power asked."""
    design = Design(baseline, variance, control_share, variant_share, alpha, power, test)
    problem = design.problem()
    if problem is not None:
        return DaysResult(None, None, problem)
    if relative_lift * baseline == 0:
        return DaysResult(None, None, "zero_effect")
    target = baseline * (1.0 + relative_lift)
    if variance is None and not 0.0 <= target <= 1.0:
        return DaysResult(None, None, "impossible_lift")  # a rate above 100% or below 0%
    users = math.ceil(design.users_for(relative_lift))
    if daily_users <= 0:
        return DaysResult(None, users, "no_traffic")
    return DaysResult(math.ceil(users / daily_users), users)


def _absolute_mde(design: Design, users: int) -> float:
    factor = 1.0 / (users * design.control_share) + 1.0 / (users * design.variant_share)
    return math.sqrt(design.z_squared * design.sigma2 * factor)


def _relative_mde(design: Design, users: int) -> float | None:
    """The r > 0 with N(r) = users, by bisection (N falls as r grows); None when even the
    largest lift a rate allows (to 99.9%) needs more users."""
    low = 1e-9
    high = 0.999 / design.baseline - 1.0 if design.variance is None else 1e6
    if high <= low or design.users_for(high) > users:
        return None
    for _ in range(200):
        middle = math.sqrt(low * high)
        if design.users_for(middle) > users:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return high
