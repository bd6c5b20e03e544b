"""Planning: the classical plan against statsmodels' normal power analysis, and the plan of
the headline (relative) test against the power that test has by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.experiments.arms import ArmStats
from engine.experiments.planning import Design, days_needed, minimum_detectable_effect
from engine.experiments.statistics import compare_arms


@pytest.mark.parametrize(("control_share", "variant_share"), [(0.5, 0.5), (0.5, 0.25)])
def test_mde_matches_statsmodels(control_share: float, variant_share: float) -> None:
    import statsmodels.stats.power as power

    baseline, daily, days = 0.12, 800, 14
    result = minimum_detectable_effect(
        daily,
        days,
        baseline,
        control_share=control_share,
        variant_share=variant_share,
        test="absolute",
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
    result = days_needed(daily, baseline, lift, test="absolute")
    sigma = math.sqrt(baseline * (1 - baseline))
    per_arm = power.NormalIndPower().solve_power(
        effect_size=baseline * lift / sigma, alpha=0.05, power=0.8, ratio=1.0
    )
    assert result.users is not None
    assert result.days is not None
    assert result.users == pytest.approx(2 * per_arm, rel=1e-3)
    assert result.days == math.ceil(result.users / daily)
    # After that many days the MDE is at most the lift asked for, one day less it is above.
    for test in ("absolute", "relative"):
        found = days_needed(daily, baseline, lift, test=test)
        assert found.days is not None
        after = minimum_detectable_effect(daily, found.days, baseline, test=test).relative
        before = minimum_detectable_effect(daily, found.days - 1, baseline, test=test).relative
        assert after is not None
        assert before is not None
        assert after <= lift < before


def test_mean_metric_uses_the_given_variance() -> None:
    result = minimum_detectable_effect(1000, 10, 3.0, variance=4.0, test="absolute")
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


def simulated_power(
    baseline: float,
    lift: float,
    users: int,
    control_share: float,
    runs: int,
    seed: int,
    variance: float | None = None,
) -> float:
    """Share of simulated experiments whose headline p-value (compare_arms) is below 0.05."""
    rng = np.random.default_rng(seed)
    n_a = round(users * control_share)
    n_b = users - n_a
    target = baseline * (1 + lift)
    hits = 0
    for _ in range(runs):
        if variance is None:
            a = ArmStats.from_conversions(n_a, float(rng.binomial(n_a, baseline)))
            b = ArmStats.from_conversions(n_b, float(rng.binomial(n_b, target)))
        else:  # normal per-user values through their sufficient statistics
            a, b = (
                _normal_arm(rng, n, mean, variance) for n, mean in ((n_a, baseline), (n_b, target))
            )
        p_value = compare_arms(a, b).p_value
        hits += p_value is not None and p_value < 0.05
    return hits / runs


def _normal_arm(rng: np.random.Generator, n: int, mean: float, variance: float) -> ArmStats:
    total = rng.normal(n * mean, math.sqrt(n * variance))
    spread = variance * rng.chisquare(n - 1)  # Σ(y - ȳ)²
    return ArmStats(n, float(total), float(spread + total * total / n))


@pytest.mark.parametrize(
    ("baseline", "lift", "control_share"),
    [(0.10, 0.10, 0.5), (0.10, 0.30, 0.5), (0.05, 0.30, 0.4), (0.10, -0.20, 0.5)],
)
def test_the_plan_gives_the_headline_test_its_power(
    baseline: float, lift: float, control_share: float
) -> None:
    found = days_needed(
        100, baseline, lift, control_share=control_share, variant_share=1 - control_share
    )
    assert found.users is not None
    power = simulated_power(baseline, lift, found.users, control_share, runs=3000, seed=17)
    assert 0.78 <= power <= 0.825  # 80% promised; 3,000 runs: ±1.5 points at 2 sd


def test_the_classical_plan_leaves_the_headline_test_short_of_power() -> None:
    found = days_needed(100, 0.10, 0.30, test="absolute")
    assert found.users is not None
    assert simulated_power(0.10, 0.30, found.users, 0.5, runs=3000, seed=17) < 0.75


def test_a_mean_metric_plan_gives_its_power() -> None:
    found = days_needed(100, 3.0, 0.05, variance=4.0)
    assert found.users is not None
    power = simulated_power(3.0, 0.05, found.users, 0.5, runs=3000, seed=5, variance=4.0)
    assert 0.78 <= power <= 0.825


def test_the_mde_is_the_lift_the_users_are_planned_for() -> None:
    for variance, baseline in ((None, 0.08), (4.0, 3.0)):
        mde = minimum_detectable_effect(500, 21, baseline, variance=variance)
        assert mde.relative is not None
        assert Design(baseline, variance).users_for(mde.relative) == pytest.approx(10_500)
    assert minimum_detectable_effect(10, 1, 0.1).reason == "no_detectable_lift"
    assert days_needed(100, 0.6, 1.0).reason == "impossible_lift"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("baseline", "lift", "control_share"),
    [(b, lift, s) for b in (0.02, 0.1, 0.3) for lift in (0.05, 0.2, 0.5) for s in (0.5, 0.3)],
)
def test_the_plan_power_over_many_designs(
    baseline: float, lift: float, control_share: float
) -> None:
    found = days_needed(
        100, baseline, lift, control_share=control_share, variant_share=1 - control_share
    )
    assert found.users is not None
    power = simulated_power(baseline, lift, found.users, control_share, runs=20_000, seed=3)
    assert 0.79 <= power <= 0.815
