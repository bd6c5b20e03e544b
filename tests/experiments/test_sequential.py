"""Confidence sequences checked against the paper's formulas, optimisation and duality."""

from __future__ import annotations

import math

import pytest
from scipy import optimize

from engine.experiments.arms import ArmStats
from engine.experiments.effects import absolute_effect, relative_effect
from engine.experiments.sequential import (
    mixing_rho,
    sequential_halfwidth,
    sequential_interval,
    sequential_p_value,
)
from engine.experiments.statistics import AnalysisOptions, compare_arms


def _paper_halfwidth(sigma: float, t: int, rho: float, alpha: float) -> float:
    """Waudby-Smith et al. (2023), Theorem 2.2, two-sided asymptotic confidence sequence."""
    return sigma * math.sqrt(
        2 * (t * rho**2 + 1) / (t**2 * rho**2) * math.log(math.sqrt(t * rho**2 + 1) / alpha)
    )


def test_halfwidth_matches_the_paper() -> None:
    se, users, alpha = 0.004, 12_000, 0.05
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / 5000)
    expected = _paper_halfwidth(se * math.sqrt(users), users, rho, alpha)
    assert mixing_rho(alpha, 5000) == pytest.approx(rho, rel=1e-15)
    assert sequential_halfwidth(se, users, alpha, 5000) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("tuning", [1000, 5000, 50_000])
def test_rho_nearly_minimises_the_width_at_the_tuning_size(tuning: int) -> None:
    alpha = 0.05
    best = optimize.minimize_scalar(
        lambda log_rho: _paper_halfwidth(1.0, tuning, math.exp(log_rho), alpha),
        bounds=(-15, 2),
        method="bounded",
    )
    ours = _paper_halfwidth(1.0, tuning, mixing_rho(alpha, tuning), alpha)
    assert ours == pytest.approx(best.fun, rel=1e-3)


def test_sequential_p_value_is_dual_to_the_interval() -> None:
    """The interval at level alpha = p has an end exactly at 0 (bisection on alpha)."""
    point, se, users, tuning = 0.016, 0.004, 20_000, 5000.0
    p_value = sequential_p_value(point, se, users, 0.05, tuning)
    rho = mixing_rho(0.05, tuning)

    def lower_end(alpha: float) -> float:
        width = (
            se
            * math.sqrt(users)
            * math.sqrt(
                2
                * (users * rho**2 + 1)
                / (users**2 * rho**2)
                * math.log(math.sqrt(users * rho**2 + 1) / alpha)
            )
        )
        return point - width

    root = optimize.brentq(lower_end, 1e-12, 0.999)
    assert p_value == pytest.approx(root, rel=1e-8)
    assert 0 < p_value < 0.05
    low, _ = sequential_interval(point, se, users, 0.05, tuning)
    assert low > 0


def test_sequential_interval_is_wider_than_the_fixed_one() -> None:
    control, variant = ArmStats.from_conversions(6000, 600), ArmStats.from_conversions(6000, 680)
    result = compare_arms(control, variant)
    assert result.ci_relative is not None
    assert result.sequential_ci_relative is not None
    fixed = result.ci_relative[1] - result.ci_relative[0]
    always_valid = result.sequential_ci_relative[1] - result.sequential_ci_relative[0]
    assert always_valid > fixed
    relative = relative_effect(control, variant)
    assert result.sequential_ci_relative == pytest.approx(
        sequential_interval(relative.point, relative.standard_error, 12_000, 0.05, 5000)
    )
    # The always-valid p-value tests the relative lift, like the headline p-value.
    assert result.sequential_p_value == pytest.approx(
        sequential_p_value(relative.point, relative.standard_error, 12_000, 0.05, 5000)
    )
    absolute = absolute_effect(control, variant)
    assert result.sequential_ci_absolute == pytest.approx(
        sequential_interval(absolute.point, absolute.standard_error, 12_000, 0.05, 5000)
    )


def test_tuning_parameter_moves_where_the_sequence_is_tight() -> None:
    control, variant = ArmStats.from_conversions(1000, 100), ArmStats.from_conversions(1000, 110)
    early = compare_arms(control, variant, AnalysisOptions(sequential_tuning=2000))
    late = compare_arms(control, variant, AnalysisOptions(sequential_tuning=200_000))
    assert early.sequential_ci_absolute is not None
    assert late.sequential_ci_absolute is not None
    width_early = early.sequential_ci_absolute[1] - early.sequential_ci_absolute[0]
    width_late = late.sequential_ci_absolute[1] - late.sequential_ci_absolute[0]
    assert width_early < width_late


def test_huge_effect_gives_a_tiny_finite_p_value() -> None:
    assert sequential_p_value(10.0, 0.001, 10_000, 0.05) == pytest.approx(0.0, abs=1e-300)
    assert sequential_p_value(0.0, 0.01, 10_000, 0.05) == 1.0
