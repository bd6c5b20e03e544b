"""A/A simulation: the false-positive rates the statistics promise (benchmarks/ has the long run).

Each experiment: 14 days of 600 users a day, a coin-flip split, 10% conversion in both arms,
analysed after every day by compare_arms on cumulative sums.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.experiments.arms import ArmStats
from engine.experiments.statistics import Comparison, compare_arms

DAYS = 14


def _excludes_zero(interval: tuple[float, float] | None) -> bool:
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


def _simulate(experiments: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    users_a = rng.binomial(600, 0.5, size=(experiments, DAYS))
    users_b = 600 - users_a
    conv_a = np.cumsum(rng.binomial(users_a, 0.10), axis=1)
    conv_b = np.cumsum(rng.binomial(users_b, 0.10), axis=1)
    users_a, users_b = np.cumsum(users_a, axis=1), np.cumsum(users_b, axis=1)
    fixed = naive = sequential = 0
    for e in range(experiments):
        looks: list[Comparison] = [
            compare_arms(
                ArmStats.from_conversions(int(users_a[e, d]), int(conv_a[e, d])),
                ArmStats.from_conversions(int(users_b[e, d]), int(conv_b[e, d])),
            )
            for d in range(DAYS)
        ]
        fixed += (looks[-1].p_value or 1.0) < 0.05
        naive += any((c.p_value or 1.0) < 0.05 for c in looks)
        sequential += any(_excludes_zero(c.sequential_ci_relative) for c in looks)
    return {
        "fixed": fixed / experiments,
        "naive": naive / experiments,
        "sequential": sequential / experiments,
    }


def test_aa_false_positive_rates() -> None:
    rates = _simulate(1000, seed=42)
    assert 0.03 <= rates["fixed"] <= 0.07
    assert rates["naive"] > 0.10
    assert rates["sequential"] <= 0.05


@pytest.mark.slow
def test_aa_false_positive_rates_long_run() -> None:
    rates = _simulate(10_000, seed=43)
    assert 0.04 <= rates["fixed"] <= 0.06
    assert rates["naive"] > 0.15
    assert rates["sequential"] <= 0.04
