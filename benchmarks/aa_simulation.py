"""A/A (and A/B) simulation of the experiment statistics: do the error rates hold?

Each simulated experiment runs 14 days. Every day 1,000 users enter and each is assigned to
control or variant by a fair coin (so arm sizes vary, as in production), and converts with
the same probability in both arms (A/A). The statistics are computed by the real code,
`engine.experiments.statistics.compare_arms`, from cumulative sufficient statistics, once at
the end (fixed horizon) and after every day (peeking). Reported:

- fixed-horizon false-positive rate at alpha = 0.05 (should be ~5%), of the headline p-value
  (relative lift, delta method, Welch degrees of freedom) and of the absolute Welch test;
- naive peeking: "significant on any of the 14 days" (inflated, the reason sequential exists);
- sequential: "the always-valid interval excludes 0 on any day" (should stay at or below 5%);
- Bayesian peeking: "chance to win above 95% or below 5% on any day", for comparison;
- sample-ratio check false alarms at p < 0.001 (should be ~0.1%);
- CUPED with a correlated pre-exposure covariate: false-positive rate and variance reduction;
- power at a true +10% relative lift: fixed horizon against sequential (the price of peeking).

Run: `python benchmarks/aa_simulation.py [--experiments N] [--seed S]`; the recorded output of
the default run is benchmarks/aa_simulation.txt.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy
from scipy import stats

from engine.experiments.arms import ArmStats
from engine.experiments.srm import srm_test
from engine.experiments.statistics import AnalysisOptions, Comparison, compare_arms

ALPHA = 0.05
DAYS = 14
DAILY_USERS = 1000
BASELINE = 0.10


@dataclass
class Tally:
    """Rejections of one rule over the simulated experiments."""

    label: str
    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hits += int(hit)
        self.total += 1

    def line(self) -> str:
        ci = stats.binomtest(self.hits, self.total).proportion_ci(0.95)
        rate = self.hits / self.total
        return (
            f"  {self.label:<58} {rate:7.2%}  ({self.hits}/{self.total}; "
            f"95% CI {ci.low:.2%} to {ci.high:.2%})"
        )


def excludes_zero(interval: tuple[float, float] | None) -> bool:
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


def daily_arms(rng: np.random.Generator, lift: float) -> tuple[np.ndarray, ...]:
    """Cumulative users and conversions per arm after each day."""
    users_a = rng.binomial(DAILY_USERS, 0.5, size=DAYS)
    users_b = DAILY_USERS - users_a
    conv_a = rng.binomial(users_a, BASELINE)
    conv_b = rng.binomial(users_b, BASELINE * (1 + lift))
    return tuple(np.cumsum(x) for x in (users_a, conv_a, users_b, conv_b))


def run_peeking(experiments: int, rng: np.random.Generator, lift: float) -> list[Tally]:
    fixed = Tally("fixed horizon: p < 0.05 on day 14 (relative lift)")
    fixed_abs = Tally("fixed horizon: absolute Welch p < 0.05 on day 14")
    naive = Tally("naive peeking: p < 0.05 on any of 14 days")
    sequential = Tally("sequential: relative CS excludes 0 on any of 14 days")
    sequential_abs = Tally("sequential: absolute CS excludes 0 on any of 14 days")
    bayes = Tally("Bayesian peeking: chance to win > 95% or < 5% on any day")
    srm = Tally("SRM alarm (p < 0.001) on day 14")
    options = AnalysisOptions(alpha=ALPHA)
    for _ in range(experiments):
        users_a, conv_a, users_b, conv_b = daily_arms(rng, lift)
        looks: list[Comparison] = [
            compare_arms(
                ArmStats.from_conversions(int(users_a[d]), int(conv_a[d])),
                ArmStats.from_conversions(int(users_b[d]), int(conv_b[d])),
                options,
            )
            for d in range(DAYS)
        ]
        final = looks[-1]
        fixed.add(final.p_value is not None and final.p_value < ALPHA)
        fixed_abs.add(final.p_value_absolute is not None and final.p_value_absolute < ALPHA)
        naive.add(any(c.p_value is not None and c.p_value < ALPHA for c in looks))
        sequential.add(any(excludes_zero(c.sequential_ci_relative) for c in looks))
        sequential_abs.add(any(excludes_zero(c.sequential_ci_absolute) for c in looks))
        bayes.add(
            any(c.chance_to_win is not None and not 0.05 <= c.chance_to_win <= 0.95 for c in looks)
        )
        srm.add((srm_test([int(users_a[-1]), int(users_b[-1])], [1, 1]).p_value or 1.0) < 0.001)
    return [fixed, fixed_abs, naive, sequential, sequential_abs, bayes, srm]


def run_cuped(experiments: int, rng: np.random.Generator) -> tuple[list[Tally], float]:
    """Per-user data where pre-exposure activity predicts conversion; A/A, fixed horizon.

    Each user has a propensity p ~ Beta(0.5, 4.5) (mean 10%), converts with probability p, and
    had Poisson(20 p) sessions before exposure: the covariate CUPED uses. The arms are reduced
    to sums with numpy, exactly as a SQL aggregate would send them.
    """
    plain = Tally("without CUPED: p < 0.05")
    cuped = Tally("with CUPED (theta pooled): p < 0.05")
    covered = Tally("CUPED relative CI covers the true lift (0)")
    reductions = []
    for _ in range(experiments):
        arms = []
        for _arm in range(2):
            n = int(rng.binomial(DAILY_USERS * DAYS, 0.5))
            propensity = rng.beta(0.5, 4.5, size=n)
            pre = rng.poisson(20 * propensity).astype(float)
            converted = (rng.random(n) < propensity).astype(float)
            arms.append(
                ArmStats.from_conversions(
                    n,
                    float(converted.sum()),
                    pre_sum=float(pre.sum()),
                    pre_sum_squares=float((pre * pre).sum()),
                    sum_products=float((pre * converted).sum()),
                )
            )
        result = compare_arms(arms[0], arms[1], AnalysisOptions(alpha=ALPHA))
        plain.add(result.p_value is not None and result.p_value < ALPHA)
        assert result.cuped is not None
        cuped.add(result.cuped.p_value is not None and result.cuped.p_value < ALPHA)
        covered.add(not excludes_zero(result.cuped.ci_relative))
        reductions.append(result.cuped.variance_reduction or 0.0)
    return [plain, cuped, covered], float(np.mean(reductions))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--cuped-experiments", type=int, default=1_000)
    parser.add_argument("--power-experiments", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20_240_601)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"Parcours experiment statistics, A/A simulation (seed {args.seed})")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
        f"{DAYS} days x {DAILY_USERS} users/day, coin-flip split, baseline {BASELINE:.0%}, "
        f"alpha {ALPHA}, sequential tuning 5,000"
    )
    started = time.perf_counter()
    print(f"\nA/A, {args.experiments:,} experiments, 14 daily looks each:")
    for tally in run_peeking(args.experiments, rng, lift=0.0):
        print(tally.line())
    print(f"\nA/A with a pre-exposure covariate, {args.cuped_experiments:,} experiments:")
    tallies, reduction = run_cuped(args.cuped_experiments, rng)
    for tally in tallies:
        print(tally.line())
    print(f"  mean variance reduction from CUPED: {reduction:.1%}")
    print(f"\nA/B with a true +10% relative lift, {args.power_experiments:,} experiments (power):")
    for tally in run_peeking(args.power_experiments, rng, lift=0.10)[:5]:
        print(tally.line())
    print(f"\nelapsed {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
