"""compare_arms: sufficient statistics, degenerate inputs and JSON safety."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from engine.experiments.arms import ArmStats
from engine.experiments.bayesian import GaussianPrior
from engine.experiments.effects import relative_effect
from engine.experiments.statistics import AnalysisOptions, Comparison, MinimumSample, compare_arms


def _json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_json(with_cuped=True), allow_nan=False)


def test_sql_sums_and_per_user_values_give_identical_results(
    conversion_data: dict[str, np.ndarray],
) -> None:
    y, x = conversion_data["control"], conversion_data["control_pre"]
    from_sql = ArmStats.from_conversions(
        len(y),
        float(y.sum()),
        pre_sum=float(x.sum()),
        pre_sum_squares=float((x * x).sum()),
        sum_products=float((x * y).sum()),
    )
    from_rows = ArmStats.from_values(y, x, kind="proportion")
    assert from_sql.mean == pytest.approx(from_rows.mean, rel=1e-12)
    assert from_sql.covariance == pytest.approx(from_rows.covariance, rel=1e-9)
    assert from_sql.covariance == pytest.approx(np.cov(x, y, ddof=1)[0, 1], rel=1e-9)
    assert from_sql.pre_variance == pytest.approx(np.var(x, ddof=1), rel=1e-9)


def test_combined_arms_equal_the_arm_of_all_users(value_data: dict[str, np.ndarray]) -> None:
    values, pre = value_data["control"], value_data["control_pre"]
    whole = ArmStats.from_values(values, pre)
    parts = ArmStats.from_values(values[:400], pre[:400]).combine(
        ArmStats.from_values(values[400:], pre[400:])
    )
    assert parts.users == whole.users
    assert parts.variance == pytest.approx(whole.variance, rel=1e-9)
    assert parts.covariance == pytest.approx(whole.covariance, rel=1e-9)


def test_full_comparison_on_fixed_counts() -> None:
    """Reference numbers from scipy for 1000/10,000 vs 1100/10,000 conversions."""
    control, variant = (
        ArmStats.from_conversions(10_000, 1000),
        ArmStats.from_conversions(10_000, 1100),
    )
    result = compare_arms(control, variant)
    expected = stats.ttest_ind_from_stats(
        0.11, np.sqrt(0.11 * 0.89), 10_000, 0.10, np.sqrt(0.10 * 0.90), 10_000, equal_var=False
    )
    assert result.reason is None
    assert result.absolute_lift == pytest.approx(0.01, rel=1e-12)
    assert result.relative_lift == pytest.approx(0.10, rel=1e-12)
    assert result.p_value_absolute == pytest.approx(expected.pvalue, rel=1e-9)
    # The headline p-value tests the relative lift: the relative CI at level p touches 0.
    assert result.p_value is not None
    low, _ = relative_effect(control, variant).interval(result.p_value)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert result.ci_relative is not None
    assert result.ci_relative[0] > 0
    assert result.chance_to_win is not None
    assert result.chance_to_win > 0.98
    assert result.cuped is None
    assert "cuped_relative_lift" in result.to_json(with_cuped=True)
    assert "cuped_relative_lift" not in result.to_json()


@pytest.mark.parametrize(
    ("control", "variant", "reason"),
    [
        (ArmStats.from_conversions(0, 0), ArmStats.from_conversions(0, 0), "empty_arm"),
        (ArmStats.from_conversions(0, 0), ArmStats.from_conversions(100, 10), "empty_arm"),
        (ArmStats.from_conversions(100, 10), ArmStats.from_conversions(0, 0), "empty_arm"),
        (ArmStats.from_conversions(1, 1), ArmStats.from_conversions(100, 10), "too_few_users"),
        (ArmStats.from_values([3.0] * 25), ArmStats.from_values([3.0] * 26), "zero_variance"),
        (ArmStats.from_conversions(19, 10), ArmStats.from_conversions(100, 10), "not_enough_data"),
        (ArmStats.from_conversions(100, 10), ArmStats.from_conversions(100, 4), "not_enough_data"),
    ],
)
def test_degenerate_inputs_are_neutral_with_a_reason(
    control: ArmStats, variant: ArmStats, reason: str
) -> None:
    result = compare_arms(control, variant, AnalysisOptions(minimum=MinimumSample(20, 5)))
    assert result.reason == reason
    assert result.p_value is None
    assert result.ci_absolute is None
    assert result.ci_relative is None
    assert result.chance_to_win is None
    assert result.risk is None
    assert result.sequential_ci_relative is None
    _json(result)  # raises on NaN or infinity


@pytest.mark.parametrize(
    ("control", "variant"),
    [((393, 365), (407, 407)), ((100, 0), (100, 7)), ((100, 0), (100, 0)), ((50, 50), (60, 60))],
)
def test_a_rate_at_0_or_100_percent_gets_newcombe_and_fisher(
    control: tuple[int, int], variant: tuple[int, int]
) -> None:
    (n_a, a), (n_b, b) = control, variant
    result = compare_arms(ArmStats.from_conversions(n_a, a), ArmStats.from_conversions(n_b, b))
    ci = confint_proportions_2indep(b, n_b, a, n_a, method="newcomb", compare="diff")
    fisher = stats.fisher_exact([[b, n_b - b], [a, n_a - a]]).pvalue
    assert result.reason == "boundary_rate"
    assert result.absolute_lift == pytest.approx(b / n_b - a / n_a)
    assert result.ci_absolute == pytest.approx(ci, rel=1e-9, abs=1e-12)
    assert result.p_value == result.p_value_absolute == pytest.approx(fisher, rel=1e-9)
    assert result.ci_relative is None
    assert result.chance_to_win is None
    assert result.sequential_ci_relative is None
    _json(result)


def test_the_issue_split_is_significant_at_the_boundary() -> None:
    result = compare_arms(ArmStats.from_conversions(393, 365), ArmStats.from_conversions(407, 407))
    assert result.p_value is not None
    assert result.p_value < 1e-6
    assert result.ci_absolute is not None
    assert result.ci_absolute[0] > 0


def test_zero_variance_keeps_the_descriptive_lift() -> None:
    result = compare_arms(ArmStats.from_conversions(100, 90), ArmStats.from_conversions(100, 100))
    assert result.absolute_lift == pytest.approx(0.10)
    assert result.relative_lift == pytest.approx(0.10 / 0.90)


def test_zero_baseline_mean_gives_absolute_results_only() -> None:
    control = ArmStats.from_values([-1.0, 1.0, -2.0, 2.0])
    variant = ArmStats.from_values([0.5, 1.5, 2.5, 0.0, 1.0])
    result = compare_arms(control, variant)
    expected = stats.ttest_ind([0.5, 1.5, 2.5, 0.0, 1.0], [-1.0, 1.0, -2.0, 2.0], equal_var=False)
    assert result.reason == "baseline_zero"
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.p_value_absolute == result.p_value
    assert result.relative_lift is None
    assert result.ci_relative is None
    assert result.chance_to_win is None
    _json(result)


def test_cuped_with_constant_adjusted_metric_is_skipped() -> None:
    # y = 2x exactly: after adjustment nothing varies, so CUPED has nothing to report.
    control = ArmStats.from_values([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    variant = ArmStats.from_values([4.0, 8.0, 10.0], [2.0, 4.0, 5.0])
    result = compare_arms(control, variant)
    assert result.cuped is None
    payload = json.loads(_json(result))
    assert payload["cuped_relative_lift"] is None


def test_comparison_json_is_plain_and_finite(conversion_data: dict[str, np.ndarray]) -> None:
    control = ArmStats.from_values(
        conversion_data["control"], conversion_data["control_pre"], kind="proportion"
    )
    variant = ArmStats.from_values(
        conversion_data["variant"], conversion_data["variant_pre"], kind="proportion"
    )
    payload = json.loads(_json(compare_arms(control, variant, name="b")))
    assert payload["variant"] == "b"
    for key in ("ci_absolute", "ci_relative", "sequential_ci_relative", "cuped_ci_relative"):
        assert isinstance(payload[key], list)
        assert len(payload[key]) == 2
    assert 0 <= payload["chance_to_win"] <= 1
    assert payload["cuped_theta"] > 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: AnalysisOptions(alpha=0.0),
        lambda: AnalysisOptions(alpha=1.5),
        lambda: AnalysisOptions(sequential_tuning=0),
        lambda: GaussianPrior(variance=0.0),
    ],
)
def test_invalid_settings_are_refused(make: object) -> None:
    with pytest.raises(ValueError, match="must be"):
        make()  # type: ignore[operator]
