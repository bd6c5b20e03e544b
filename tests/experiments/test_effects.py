"""Frequentist lifts checked against scipy, statsmodels and a numerical delta method."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.experiments.arms import ArmStats
from engine.experiments.effects import absolute_effect, relative_effect, welch_dof


def _arms(data: dict[str, np.ndarray], kind: str) -> tuple[ArmStats, ArmStats]:
    if kind == "proportion":
        return (
            ArmStats.from_conversions(len(data["control"]), float(data["control"].sum())),
            ArmStats.from_conversions(len(data["variant"]), float(data["variant"].sum())),
        )
    return ArmStats.from_values(data["control"]), ArmStats.from_values(data["variant"])


def test_proportion_variance_is_p_times_one_minus_p() -> None:
    arm = ArmStats.from_conversions(400, 30)
    assert arm.variance == pytest.approx(0.075 * 0.925, rel=1e-15)


def test_mean_variance_matches_numpy_sample_variance(value_data: dict[str, np.ndarray]) -> None:
    values = value_data["control"]
    assert ArmStats.from_values(values).variance == pytest.approx(np.var(values, ddof=1))


def test_welch_on_proportions_matches_scipy(conversion_data: dict[str, np.ndarray]) -> None:
    control, variant = _arms(conversion_data, "proportion")
    effect = absolute_effect(control, variant)
    expected = stats.ttest_ind_from_stats(
        variant.mean,
        np.sqrt(variant.mean * (1 - variant.mean)),
        variant.users,
        control.mean,
        np.sqrt(control.mean * (1 - control.mean)),
        control.users,
        equal_var=False,
    )
    assert effect.point / effect.standard_error == pytest.approx(expected.statistic, rel=1e-12)
    assert effect.p_value() == pytest.approx(expected.pvalue, rel=1e-9)


def test_welch_on_means_matches_scipy_raw_data(value_data: dict[str, np.ndarray]) -> None:
    control, variant = _arms(value_data, "mean")
    effect = absolute_effect(control, variant)
    expected = stats.ttest_ind(value_data["variant"], value_data["control"], equal_var=False)
    interval = expected.confidence_interval(0.95)
    assert effect.point == pytest.approx(
        value_data["variant"].mean() - value_data["control"].mean(), rel=1e-12
    )
    assert effect.dof == pytest.approx(expected.df, rel=1e-10)
    assert effect.p_value() == pytest.approx(expected.pvalue, rel=1e-9)
    assert effect.interval(0.05) == pytest.approx((interval.low, interval.high), rel=1e-10)


def test_welch_interval_matches_statsmodels(value_data: dict[str, np.ndarray]) -> None:
    import statsmodels.stats.weightstats as weightstats

    control, variant = _arms(value_data, "mean")
    compare = weightstats.CompareMeans.from_data(value_data["variant"], value_data["control"])
    low, high = compare.tconfint_diff(alpha=0.10, usevar="unequal")
    _, p_value, dof = compare.ttest_ind(usevar="unequal")
    effect = absolute_effect(control, variant)
    assert effect.interval(0.10) == pytest.approx((low, high), rel=1e-10)
    assert effect.p_value() == pytest.approx(p_value, rel=1e-9)
    assert effect.dof == pytest.approx(dof, rel=1e-10)


def test_welch_dof_closed_form() -> None:
    # Satterthwaite by hand for s² = 4 and 9, n = 10 and 20.
    se2_a, se2_b = 4 / 10, 9 / 20
    expected = (se2_a + se2_b) ** 2 / (se2_a**2 / 9 + se2_b**2 / 19)
    assert welch_dof(4.0, 10, 9.0, 20) == pytest.approx(expected, rel=1e-15)


def _numeric_delta_variance(
    means: np.ndarray, variances: np.ndarray, function: object, step: float = 1e-6
) -> float:
    """gᵀ Σ g with g by central differences and Σ = diag(variance of each mean)."""
    grad = np.zeros(len(means))
    for i in range(len(means)):
        up, down = means.copy(), means.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (function(up) - function(down)) / (2 * step)  # type: ignore[operator]
    return float(grad @ np.diag(variances) @ grad)


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_relative_lift_delta_method_matches_numerical_gradient(
    kind: str, conversion_data: dict[str, np.ndarray], value_data: dict[str, np.ndarray]
) -> None:
    control, variant = _arms(conversion_data if kind == "proportion" else value_data, kind)
    effect = relative_effect(control, variant)
    means = np.array([control.mean, variant.mean])
    variances = np.array([control.variance / control.users, variant.variance / variant.users])
    expected = _numeric_delta_variance(means, variances, lambda m: m[1] / m[0] - 1)
    assert effect.point == pytest.approx(variant.mean / control.mean - 1, rel=1e-12)
    assert effect.variance == pytest.approx(expected, rel=1e-6)
    quantile = stats.t.ppf(0.975, effect.dof)
    width = quantile * np.sqrt(expected)
    assert effect.interval(0.05) == pytest.approx(
        (effect.point - width, effect.point + width), rel=1e-6
    )


def test_relative_p_value_is_welch_t_on_the_delta_method_error(
    value_data: dict[str, np.ndarray],
) -> None:
    control, variant = _arms(value_data, "mean")
    effect = relative_effect(control, variant)
    means = np.array([control.mean, variant.mean])
    variances = np.array([control.variance / control.users, variant.variance / variant.users])
    se = np.sqrt(_numeric_delta_variance(means, variances, lambda m: m[1] / m[0] - 1))
    dof = stats.ttest_ind(value_data["variant"], value_data["control"], equal_var=False).df
    expected = 2 * stats.t.sf(abs(effect.point) / se, dof)
    assert effect.p_value() == pytest.approx(expected, rel=1e-5)


def test_relative_interval_covers_true_lift_in_simulation() -> None:
    """Monte Carlo coverage of the delta-method interval: 95% ± 2%."""
    rng = np.random.default_rng(3)
    n, rate_a, rate_b = 3000, 0.10, 0.12
    truth = rate_b / rate_a - 1
    covered = 0
    trials = 2000
    for conv_a, conv_b in zip(
        rng.binomial(n, rate_a, trials), rng.binomial(n, rate_b, trials), strict=True
    ):
        effect = relative_effect(
            ArmStats.from_conversions(n, int(conv_a)), ArmStats.from_conversions(n, int(conv_b))
        )
        low, high = effect.interval(0.05)
        covered += low <= truth <= high
    assert 0.93 <= covered / trials <= 0.97
