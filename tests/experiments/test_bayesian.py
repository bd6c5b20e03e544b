"""Chance to win and risk checked against scipy distributions and numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from engine.experiments.arms import ArmStats
from engine.experiments.bayesian import GaussianPrior, bayesian_lift, expected_loss
from engine.experiments.effects import relative_effect
from engine.experiments.statistics import AnalysisOptions, compare_arms


@pytest.mark.parametrize(("mean", "sd"), [(0.04, 0.03), (-0.02, 0.05), (0.0, 0.1), (0.3, 0.01)])
def test_chance_to_win_and_risks_match_the_normal_posterior(mean: float, sd: float) -> None:
    result = bayesian_lift(mean, sd**2)
    assert result.chance_to_win == pytest.approx(stats.norm.sf(0, mean, sd), rel=1e-12, abs=1e-300)
    loss_variant, _ = integrate.quad(
        lambda x: -x * stats.norm.pdf(x, mean, sd), mean - 12 * sd, 0, limit=200
    )
    loss_control, _ = integrate.quad(
        lambda x: x * stats.norm.pdf(x, mean, sd), 0, mean + 12 * sd, limit=200
    )
    assert result.risk == pytest.approx(max(0.0, loss_variant), abs=1e-10)
    assert result.risk_control == pytest.approx(max(0.0, loss_control), abs=1e-10)


def test_risk_matches_gbstats_truncated_normal_form() -> None:
    """gbstats: risk_trt = -P(X<0)·E[X | X<0] with scipy's truncated normal."""
    mean, sd = 0.015, 0.02
    below = stats.norm.cdf(0, mean, sd)
    truncated_mean = stats.truncnorm.mean(-np.inf, (0 - mean) / sd, loc=mean, scale=sd)
    assert expected_loss(mean, sd) == pytest.approx(-below * truncated_mean, rel=1e-10)


def test_informative_prior_matches_numerical_posterior() -> None:
    point, variance = 0.12, 0.05**2
    prior = GaussianPrior(mean=0.0, variance=0.03**2)
    result = bayesian_lift(point, variance, prior)

    def unnormalised(x: float) -> float:
        return float(
            stats.norm.pdf(x, point, math.sqrt(variance))
            * stats.norm.pdf(x, prior.mean, math.sqrt(prior.variance))
        )

    mass, _ = integrate.quad(unnormalised, -1, 1, points=[0.0, 0.1])
    first, _ = integrate.quad(lambda x: x * unnormalised(x), -1, 1, points=[0.0, 0.1])
    above, _ = integrate.quad(unnormalised, 0, 1, points=[0.1])
    assert result.posterior_mean == pytest.approx(first / mass, rel=1e-8)
    assert result.chance_to_win == pytest.approx(above / mass, rel=1e-8)
    # The prior pulls a noisy +12% towards 0.
    assert 0 < result.posterior_mean < point


def test_flat_prior_chance_to_win_uses_the_delta_method_relative_lift() -> None:
    control, variant = ArmStats.from_conversions(4000, 400), ArmStats.from_conversions(4100, 451)
    relative = relative_effect(control, variant)
    result = compare_arms(control, variant)
    expected = stats.norm.cdf(relative.point / math.sqrt(relative.variance))
    assert result.chance_to_win == pytest.approx(expected, rel=1e-12)


def test_inverse_metric_swaps_chance_and_risks() -> None:
    control, variant = ArmStats.from_conversions(5000, 150), ArmStats.from_conversions(5000, 120)
    normal = compare_arms(control, variant)
    inverse = compare_arms(control, variant, AnalysisOptions(inverse=True))
    assert normal.chance_to_win is not None
    assert inverse.chance_to_win is not None
    assert inverse.chance_to_win == pytest.approx(1 - normal.chance_to_win, rel=1e-12)
    assert inverse.risk == pytest.approx(normal.risk_control)
    assert inverse.risk_control == pytest.approx(normal.risk)
    assert inverse.chance_to_win > 0.9  # fewer unsubscribes is the win


def test_extreme_posterior_stays_finite() -> None:
    result = bayesian_lift(5.0, 1e-6)
    assert result.chance_to_win == 1.0
    assert result.risk == 0.0
    assert result.risk_control == pytest.approx(5.0)
