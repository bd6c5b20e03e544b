# Formulas below use Greek letters on purpose (α, σ, ρ, ν, θ).
# ruff: noqa: RUF002, RUF003
"""Bayesian read-out of a lift: chance to beat control and expected loss (gbstats' effect model).

The relative lift's sampling distribution is approximated as normal, r̂ ~ N(r, se²) (se from the
delta method). With the default flat (improper) prior the posterior of r is N(r̂, se²); with an
informative prior N(m₀, v₀) on r the conjugate update gives

    precision  = 1/se² + 1/v₀
    mean       = (r̂/se² + m₀/v₀) / precision          sd = 1/√precision

From the posterior N(μ, σ²):

    chance to win       P(r > 0) = Φ(μ/σ)
    risk (variant)      E[max(0, -r)] = σφ(μ/σ) - μΦ(-μ/σ)   expected relative loss of shipping it
    risk (control)      E[max(0,  r)] = σφ(μ/σ) + μΦ(μ/σ)    expected loss of keeping control

For a metric where lower is better (an unsubscribe guardrail), "winning" is r < 0, so the
chance and the two risks swap sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class GaussianPrior:
    """Informative prior on the relative lift: N(mean, variance).

    The default, N(0, 0.3²), says a lift beyond ±60% is unlikely, gbstats' suggested setting.
    """

    mean: float = 0.0
    variance: float = 0.09

    def __post_init__(self) -> None:
        if not self.variance > 0:
            raise ValueError(f"prior variance must be positive, got {self.variance}")


@dataclass(frozen=True)
class BayesianResult:
    """Posterior of the relative lift and what a decision maker reads from it."""

    posterior_mean: float
    posterior_sd: float
    chance_to_win: float
    risk: float
    risk_control: float


def posterior(point: float, variance: float, prior: GaussianPrior | None) -> tuple[float, float]:
    """Posterior (mean, sd) of the lift: the data alone under a flat prior, else conjugate."""
    if prior is None:
        return point, math.sqrt(variance)
    precision = 1.0 / variance + 1.0 / prior.variance
    mean = (point / variance + prior.mean / prior.variance) / precision
    return mean, math.sqrt(1.0 / precision)


def expected_loss(mean: float, sd: float) -> float:
    """E[max(0, -X)] for X ~ N(mean, sd²): σφ(μ/σ) - μΦ(-μ/σ), never below 0."""
    z = mean / sd
    density = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    return max(0.0, sd * density - mean * float(special.ndtr(-z)))


def bayesian_lift(
    point: float,
    variance: float,
    prior: GaussianPrior | None = None,
    *,
    inverse: bool = False,
) -> BayesianResult:
    """Chance to win and both risks; caller ensures variance > 0."""
    mean, sd = posterior(point, variance, prior)
    chance = float(special.ndtr(mean / sd))
    loss_variant = expected_loss(mean, sd)
    loss_control = expected_loss(-mean, sd)
    if inverse:
        chance, loss_variant, loss_control = 1.0 - chance, loss_control, loss_variant
    return BayesianResult(
        posterior_mean=mean,
        posterior_sd=sd,
        chance_to_win=chance,
        risk=loss_variant,
        risk_control=loss_control,
    )
