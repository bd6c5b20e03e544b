# Formulas below use Greek letters on purpose (α, σ, ρ, ν, θ).
# ruff: noqa: RUF002, RUF003
"""Planning: what lift can this traffic detect, and how many days until it can detect mine?

Two-sided test at level α with power 1 - β, a fraction s_A of the experiment's users in control
and s_B in the variant, per-user variance σ² (p(1 - p) for a conversion rate p) in both arms, and
N users in total:

    se(N)  = σ √(1/(N s_A) + 1/(N s_B))
    MDE    = (z₁₋α/₂ + z₁₋β) · se(N)                    absolute; relative = MDE / |baseline|
    N      = (z₁₋α/₂ + z₁₋β)² σ² (1/s_A + 1/s_B) / Δ²    users needed for an absolute lift Δ
    days   = ⌈N / users per day⌉

This is the usual normal approximation (the far tail's contribution to power is ignored, under
1e-5 for power ≥ 0.5). Several variants: pass each arm's share, and α divided by the number of
comparisons if you will apply a Bonferroni-type correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special


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


def _z_sum(alpha: float, power: float) -> float:
    return float(special.ndtri(1.0 - alpha / 2.0)) + float(special.ndtri(power))


def _per_user_variance(baseline: float, variance: float | None) -> float:
    return baseline * (1.0 - baseline) if variance is None else variance


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
) -> MdeResult:
    """MDE after `days` at `daily_users` entering the experiment (all arms together).

    `baseline` is the control's conversion rate; for a mean metric give its mean and its
    per-user `variance`.
    """
    users = max(0, int(daily_users * days))
    sigma2 = _per_user_variance(baseline, variance)
    arm_users = min(users * control_share, users * variant_share)
    if arm_users <= 0:
        return MdeResult(users, None, None, "no_traffic")
    if sigma2 <= 0:
        return MdeResult(users, None, None, "zero_variance")
    se = math.sqrt(sigma2 * (1.0 / (users * control_share) + 1.0 / (users * variant_share)))
    absolute = _z_sum(alpha, power) * se
    relative = absolute / abs(baseline) if baseline != 0 else None
    return MdeResult(users, absolute, relative, None if relative is not None else "baseline_zero")


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
) -> DaysResult:
    """Days at the current traffic to detect `relative_lift` (0.05 = +5%) with the power asked."""
    sigma2 = _per_user_variance(baseline, variance)
    delta = abs(relative_lift * baseline)
    if control_share <= 0 or variant_share <= 0:
        return DaysResult(None, None, "no_traffic")
    if sigma2 <= 0:
        return DaysResult(None, None, "zero_variance")
    if delta == 0:
        return DaysResult(None, None, "zero_effect")
    factor = 1.0 / control_share + 1.0 / variant_share
    users = math.ceil(_z_sum(alpha, power) ** 2 * sigma2 * factor / delta**2)
    if daily_users <= 0:
        return DaysResult(None, users, "no_traffic")
    return DaysResult(math.ceil(users / daily_users), users)
