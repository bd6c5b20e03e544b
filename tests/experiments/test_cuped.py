"""CUPED checked against per-user computations, a numerical delta method and OLS."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from engine.experiments.arms import ArmStats
from engine.experiments.effects import (
    absolute_effect,
    cuped_absolute_effect,
    cuped_relative_effect,
    pooled_theta,
)
from engine.experiments.statistics import compare_arms


def _arms(data: dict[str, np.ndarray], kind: str) -> tuple[ArmStats, ArmStats]:
    return (
        ArmStats.from_values(data["control"], data["control_pre"], kind=kind),  # type: ignore[arg-type]
        ArmStats.from_values(data["variant"], data["variant_pre"], kind=kind),  # type: ignore[arg-type]
    )


def _pooled_slope(data: dict[str, np.ndarray]) -> float:
    x = np.concatenate([data["control_pre"], data["variant_pre"]])
    y = np.concatenate([data["control"], data["variant"]])
    return float(np.polyfit(x, y, 1)[0])


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_theta_is_the_pooled_regression_slope(
    kind: str, conversion_data: dict[str, np.ndarray], value_data: dict[str, np.ndarray]
) -> None:
    data = conversion_data if kind == "proportion" else value_data
    control, variant = _arms(data, kind)
    assert pooled_theta(control, variant) == pytest.approx(_pooled_slope(data), rel=1e-9)


def test_absolute_cuped_is_welch_on_adjusted_values(value_data: dict[str, np.ndarray]) -> None:
    control, variant = _arms(value_data, "mean")
    theta = _pooled_slope(value_data)
    z_a = value_data["control"] - theta * value_data["control_pre"]
    z_b = value_data["variant"] - theta * value_data["variant_pre"]
    expected = stats.ttest_ind(z_b, z_a, equal_var=False)
    interval = expected.confidence_interval(0.95)
    effect = cuped_absolute_effect(control, variant, pooled_theta(control, variant))
    assert effect.point == pytest.approx(z_b.mean() - z_a.mean(), rel=1e-9)
    assert effect.p_value() == pytest.approx(expected.pvalue, rel=1e-7)
    assert effect.interval(0.05) == pytest.approx((interval.low, interval.high), rel=1e-8)


def test_absolute_cuped_on_proportions_uses_p_one_minus_p(
    conversion_data: dict[str, np.ndarray],
) -> None:
    control, variant = _arms(conversion_data, "proportion")
    theta = pooled_theta(control, variant)
    expected_variance = 0.0
    for name in ("control", "variant"):
        y, x = conversion_data[name], conversion_data[name + "_pre"]
        cov = np.cov(x, y, ddof=1)
        var_z = y.mean() * (1 - y.mean()) + theta**2 * cov[0, 0] - 2 * theta * cov[0, 1]
        expected_variance += var_z / len(y)
    effect = cuped_absolute_effect(control, variant, theta)
    assert effect.variance == pytest.approx(expected_variance, rel=1e-9)


def _delta_variance(
    function: Callable[[np.ndarray], float],
    point: np.ndarray,
    covariance: np.ndarray,
    step: float = 1e-6,
) -> float:
    grad = np.zeros(len(point))
    for i in range(len(point)):
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (function(up) - function(down)) / (2 * step)
    return float(grad @ covariance @ grad)


def test_relative_cuped_matches_numerical_delta_method(value_data: dict[str, np.ndarray]) -> None:
    control, variant = _arms(value_data, "mean")
    theta = pooled_theta(control, variant)

    def lift(m: np.ndarray) -> float:
        y_a, x_a, y_b, x_b = m
        return float(((y_b - theta * x_b) - (y_a - theta * x_a)) / y_a)

    point, blocks = [], []
    for name in ("control", "variant"):
        y, x = value_data[name], value_data[name + "_pre"]
        point += [y.mean(), x.mean()]
        blocks.append(np.cov(y, x, ddof=1) / len(y))
    covariance = np.block([[blocks[0], np.zeros((2, 2))], [np.zeros((2, 2)), blocks[1]]])
    effect = cuped_relative_effect(control, variant, theta)
    assert effect.point == pytest.approx(lift(np.array(point)), rel=1e-9)
    assert effect.variance == pytest.approx(
        _delta_variance(lift, np.array(point), covariance), rel=1e-5
    )


def test_relative_cuped_agrees_with_gbstats_approximation(
    value_data: dict[str, np.ndarray],
) -> None:
    """The gradient approximation -ȳ_B/ȳ_A² (ŷ_B + θx̄_A replaced by ȳ_B, equal in
    expectation) agrees on this large sample; gbstats 0.8.0's own formula is another one
    (docs/experiments.md, "Differences from gbstats")."""
    control, variant = _arms(value_data, "mean")
    theta = pooled_theta(control, variant)
    mean_a, mean_b = control.mean, variant.mean
    var_b = variant.variance + theta**2 * variant.pre_variance - 2 * theta * variant.covariance
    v_treatment = var_b / (variant.users * mean_a**2)
    v_control = (
        control.variance * mean_b**2 / mean_a**2
        - 2 * theta * control.covariance * mean_b / mean_a
        + theta**2 * control.pre_variance
    ) / (control.users * mean_a**2)
    effect = cuped_relative_effect(control, variant, theta)
    assert effect.variance == pytest.approx(v_treatment + v_control, rel=2e-2)


def test_cuped_matches_ancova_treatment_coefficient(value_data: dict[str, np.ndarray]) -> None:
    """OLS y ~ 1 + treated + x estimates nearly the same effect (θ within- vs pooled)."""
    import statsmodels.api as sm

    control, variant = _arms(value_data, "mean")
    y = np.concatenate([value_data["control"], value_data["variant"]])
    x = np.concatenate([value_data["control_pre"], value_data["variant_pre"]])
    treated = np.r_[np.zeros(control.users), np.ones(variant.users)]
    fit = sm.OLS(y, sm.add_constant(np.column_stack([treated, x]))).fit()
    effect = cuped_absolute_effect(control, variant, pooled_theta(control, variant))
    assert abs(effect.point - fit.params[1]) < 0.05 * fit.bse[1]
    assert effect.standard_error == pytest.approx(fit.bse[1], rel=0.05)


def test_variance_reduction_is_about_the_squared_correlation(
    value_data: dict[str, np.ndarray],
) -> None:
    control, variant = _arms(value_data, "mean")
    result = compare_arms(control, variant)
    assert result.cuped is not None
    y = np.concatenate([value_data["control"], value_data["variant"]])
    x = np.concatenate([value_data["control_pre"], value_data["variant_pre"]])
    rho2 = np.corrcoef(x, y)[0, 1] ** 2
    assert result.cuped.variance_reduction == pytest.approx(rho2, rel=0.05)
    plain = absolute_effect(control, variant)
    assert result.cuped.ci_absolute is not None
    assert result.ci_absolute is not None
    narrower = result.cuped.ci_absolute[1] - result.cuped.ci_absolute[0]
    assert narrower < result.ci_absolute[1] - result.ci_absolute[0]
    assert plain.variance > 0


def test_constant_covariate_falls_back_to_the_unadjusted_lift() -> None:
    control = ArmStats.from_values([0, 1, 1, 0, 0], [3, 3, 3, 3, 3], kind="proportion")
    variant = ArmStats.from_values([1, 1, 1, 0, 0, 1], [3] * 6, kind="proportion")
    result = compare_arms(control, variant)
    assert result.cuped is not None
    assert result.cuped.theta == 0.0
    assert result.cuped.absolute_lift == pytest.approx(result.absolute_lift)
    assert result.cuped.ci_relative == pytest.approx(result.ci_relative)
