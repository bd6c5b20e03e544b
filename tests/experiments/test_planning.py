"""Planning helpers checked against statsmodels' normal power analysis."""

from __future__ import annotations

import math

import pytest

from engine.experiments.planning import days_needed, minimum_detectable_effect


@pytest.mark.parametrize(("control_share", "variant_share"), [(0.5, 0.5), (0.5, 0.25)])
def test_mde_matches_statsmodels(control_share: float, variant_share: float) -> None:
    import statsmodels.stats.power as power

    baseline, daily, days = 0.12, 800, 14
    result = minimum_detectable_effect(
        daily, days, baseline, control_share=control_share, variant_share=variant_share
    )
    users = daily * days
    effect_size = power.NormalIndPower().solve_power(
        nobs1=users * control_share,
        ratio=variant_share / control_share,
        alpha=0.05,
        power=0.8,
        alternative="two-sided",
    )
    expected = effect_size * math.sqrt(baseline * (1 - baseline))
    assert result.absolute == pytest.approx(expected, rel=1e-4)
    assert result.relative == pytest.approx(expected / baseline, rel=1e-4)


def test_days_needed_inverts_the_mde_and_matches_statsmodels() -> None:
    import statsmodels.stats.power as power

    baseline, lift, daily = 0.10, 0.10, 500
    result = days_needed(daily, baseline, lift)
    sigma = math.sqrt(baseline * (1 - baseline))
    per_arm = power.NormalIndPower().solve_power(
        effect_size=baseline * lift / sigma, alpha=0.05, power=0.8, ratio=1.0
    )
    assert result.users is not None
    assert result.days is not None
    assert result.users == pytest.approx(2 * per_arm, rel=1e-3)
    assert result.days == math.ceil(result.users / daily)
    # After that many days the MDE is at most the lift asked for, one day less it is above.
    assert minimum_detectable_effect(daily, result.days, baseline).relative <= lift  # type: ignore[operator]
    assert minimum_detectable_effect(daily, result.days - 1, baseline).relative > lift  # type: ignore[operator]


def test_mean_metric_uses_the_given_variance() -> None:
    result = minimum_detectable_effect(1000, 10, 3.0, variance=4.0)
    expected = (1.959963984540054 + 0.8416212335729143) * math.sqrt(4.0 * (2 / 5000))
    assert result.absolute == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: minimum_detectable_effect(0, 14, 0.1), "no_traffic"),
        (lambda: minimum_detectable_effect(100, 14, 0.0), "zero_variance"),
        (lambda: minimum_detectable_effect(100, 14, 0.0, variance=1.0), "baseline_zero"),
        (lambda: days_needed(100, 1.0, 0.1), "zero_variance"),
        (lambda: days_needed(100, 0.1, 0.0), "zero_effect"),
        (lambda: days_needed(0, 0.1, 0.1), "no_traffic"),
    ],
)
def test_degenerate_plans_give_a_reason(call: object, reason: str) -> None:
    assert call().reason == reason  # type: ignore[operator]
