"""Sufficient statistics of one experiment arm for one metric.

Every statistic in this package is computed from a handful of sums per arm, never from per-user
rows, so a SQL `GROUP BY variant` (COUNT, SUM, SUM of squares, SUM of products) feeds it
directly and millions of users cost nothing in Python:

    users            n
    sum              Σ y
    sum_squares      Σ y²          (equal to `sum` for a 0/1 conversion)
    pre_sum          Σ x           (optional CUPED covariate, measured before exposure)
    pre_sum_squares  Σ x²
    sum_products     Σ x·y

A conversion ("proportion") and a per-user mean ("mean") differ only in their variance: a
proportion's is p(1 - p), as gbstats takes it, a mean's is the sample variance with n - 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["proportion", "mean"]

# A centred sum of squares this small relative to the raw one is rounding noise, not spread:
# treating it as variance would turn a constant metric into an infinitely significant one.
_RELATIVE_NOISE = 1e-12


@dataclass(frozen=True)
class ArmStats:
    """Sums over the users of one arm; see the module docstring for each field."""

    users: int
    sum: float
    sum_squares: float
    kind: MetricKind = "mean"
    pre_sum: float | None = None
    pre_sum_squares: float | None = None
    sum_products: float | None = None

    @classmethod
    def from_conversions(
        cls,
        users: int,
        conversions: float,
        *,
        pre_sum: float | None = None,
        pre_sum_squares: float | None = None,
        sum_products: float | None = None,
    ) -> ArmStats:
        """A 0/1 metric: Σy² = Σy, so the conversion count is all it needs."""
        return cls(
            users=users,
            sum=conversions,
            sum_squares=conversions,
            kind="proportion",
            pre_sum=pre_sum,
            pre_sum_squares=pre_sum_squares,
            sum_products=sum_products,
        )

    @classmethod
    def from_values(
        cls,
        values: Iterable[float],
        pre_values: Iterable[float] | None = None,
        *,
        kind: MetricKind = "mean",
    ) -> ArmStats:
        """Sums of per-user values (tests, small exports); SQL should send the sums instead."""
        ys = [float(v) for v in values]
        has_pre = pre_values is not None
        xs = [float(v) for v in pre_values] if pre_values is not None else []
        if has_pre and len(xs) != len(ys):
            raise ValueError("pre_values must have one entry per user")
        return cls(
            users=len(ys),
            sum=sum(ys),
            sum_squares=sum(y * y for y in ys),
            kind=kind,
            pre_sum=sum(xs) if has_pre else None,
            pre_sum_squares=sum(x * x for x in xs) if has_pre else None,
            sum_products=sum(x * y for x, y in zip(xs, ys, strict=True)) if has_pre else None,
        )

    @property
    def mean(self) -> float:
        """ȳ = Σy / n (a conversion rate for a proportion), 0 for an empty arm."""
        return self.sum / self.users if self.users > 0 else 0.0

    @property
    def variance(self) -> float:
        """Per-user variance: p(1 - p) for a proportion, (Σy² - (Σy)²/n) / (n - 1) for a mean."""
        if self.users == 0:
            return 0.0
        if self.kind == "proportion":
            p = self.mean
            return max(0.0, p * (1.0 - p))
        return _sample_variance(self.users, self.sum, self.sum_squares)

    @property
    def has_covariate(self) -> bool:
        """True when the three CUPED sums are all present."""
        return (
            self.pre_sum is not None
            and self.pre_sum_squares is not None
            and self.sum_products is not None
        )

    @property
    def pre_mean(self) -> float:
        """x̄ = Σx / n, the covariate's mean (0 without a covariate)."""
        if self.users == 0 or self.pre_sum is None:
            return 0.0
        return self.pre_sum / self.users

    @property
    def pre_variance(self) -> float:
        """Sample variance of the covariate, (Σx² - (Σx)²/n) / (n - 1)."""
        if self.pre_sum is None or self.pre_sum_squares is None:
            return 0.0
        return _sample_variance(self.users, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of metric and covariate, (Σxy - ΣxΣy/n) / (n - 1)."""
        if self.users < 2 or self.pre_sum is None or self.sum_products is None:
            return 0.0
        return (self.sum_products - self.sum * self.pre_sum / self.users) / (self.users - 1)

    def combine(self, other: ArmStats) -> ArmStats:
        """Sums of both groups of users: sums add, which is what makes them sufficient."""
        both = self.has_covariate and other.has_covariate
        return ArmStats(
            users=self.users + other.users,
            sum=self.sum + other.sum,
            sum_squares=self.sum_squares + other.sum_squares,
            kind=self.kind,
            pre_sum=_add(self.pre_sum, other.pre_sum) if both else None,
            pre_sum_squares=_add(self.pre_sum_squares, other.pre_sum_squares) if both else None,
            sum_products=_add(self.sum_products, other.sum_products) if both else None,
        )


def empty_arm(kind: MetricKind = "mean", *, with_covariate: bool = False) -> ArmStats:
    """An arm nobody reached: analyses of it come back neutral with reason `empty_arm`."""
    zero = 0.0 if with_covariate else None
    return ArmStats(0, 0.0, 0.0, kind, zero, zero, zero)


def _sample_variance(users: int, total: float, total_squares: float) -> float:
    if users < 2:
        return 0.0
    centred = total_squares - total * total / users
    if centred <= _RELATIVE_NOISE * abs(total_squares):
        return 0.0
    return centred / (users - 1)


def _add(a: float | None, b: float | None) -> float:
    return (a or 0.0) + (b or 0.0)
