"""Inference for a conversion rate at 0% or 100%, where the normal approximation has no variance.

    boundary_effect(control, variant, alpha) -> BoundaryEffect

A rate of 0/n or n/n has p(1 - p) = 0, so Welch's interval collapses to a point and its
p-value is 0 or undefined, although 365/393 against 407/407 is plainly a real difference. Two
methods valid at the boundary replace it:

    interval   Newcombe's hybrid score interval for p_B - p_A (method 10 of Newcombe 1998):
               from each arm's Wilson score interval (l, u),
               [Δ - √((p_B - l_B)² + (u_A - p_A)²),  Δ + √((u_B - p_B)² + (p_A - l_A)²)]
    p-value    Fisher's exact test on the 2x2 table, two-sided (scipy.stats.fisher_exact),
               conditional on the conversions, so it never needs a variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special, stats

from engine.experiments.arms import ArmStats


@dataclass(frozen=True)
class BoundaryEffect:
    """The absolute lift, its Newcombe interval and Fisher's exact p-value."""

    point: float
    interval: tuple[float, float]
    p_value: float


def wilson_interval(conversions: int, users: int, alpha: float) -> tuple[float, float]:
    """Wilson's score interval for one rate; valid at 0/n and n/n, unlike p ± z·se."""
    z = float(special.ndtri(1.0 - alpha / 2.0))
    p = conversions / users
    centre = (p + z * z / (2 * users)) / (1 + z * z / users)
    half = z * math.sqrt(p * (1 - p) / users + z * z / (4 * users * users)) / (1 + z * z / users)
    return max(0.0, centre - half), min(1.0, centre + half)


def boundary_effect(control: ArmStats, variant: ArmStats, alpha: float) -> BoundaryEffect:
    """Exact inference for two proportion arms with at least one user each."""
    a, b = round(control.sum), round(variant.sum)
    p_a, p_b = a / control.users, b / variant.users
    low_a, high_a = wilson_interval(a, control.users, alpha)
    low_b, high_b = wilson_interval(b, variant.users, alpha)
    point = p_b - p_a
    below = math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2)
    above = math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2)
    table = [[b, variant.users - b], [a, control.users - a]]
    p_value = float(stats.fisher_exact(table, alternative="two-sided").pvalue)
    return BoundaryEffect(point, (point - below, point + above), min(1.0, p_value))
