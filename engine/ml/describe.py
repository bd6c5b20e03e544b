"""Clusters in human terms: what sets each persona apart, how big it is, how well it activates.

Each column of the (unscaled) feature matrix is compared between the cluster and everyone:
the standardised difference (cluster mean - overall mean) / overall standard deviation says
how distinctive it is. The strongest few, at most one per trait, event or stage, are
written in the units an author knows:

    role is marketer: 82% (vs 25% overall)
    campaign_created in the first 3 days: 4.2 per profile (vs 1.1 overall)
    reached activation within 3 days: 85% (vs 40% overall)
    company.employee_count: median 180 (vs 25 overall)

All sums are per-column `bincount`s over the labels, so a million profiles need no copy of
the matrix per cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.ml.features import Column, FeatureSpec, Matrix


@dataclass(frozen=True)
class Trait:
    """One distinctive column of a cluster: its score (signed, in standard deviations) and
    the sentence describing it."""

    column: str
    score: float
    text: str
    slug: str


@dataclass(frozen=True)
class ClusterProfile:
    """A discovered persona, described."""

    cluster: int
    size: int
    share: float
    activation_rate: float | None
    traits: tuple[Trait, ...]

    @property
    def slug(self) -> str:
        return self.traits[0].slug if self.traits else "profiles"

    def summary(self, overall_rate: float | None) -> str:
        parts = [t.text for t in self.traits]
        parts.append(f"{self.size:,} profiles ({self.share:.0%})")
        if self.activation_rate is not None and overall_rate is not None:
            parts.append(f"activation {self.activation_rate:.0%} (vs {overall_rate:.0%} overall)")
        return "; ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "cluster": self.cluster,
            "size": self.size,
            "share": self.share,
            "activation_rate": self.activation_rate,
            "distinctive": [
                {"column": t.column, "score": t.score, "text": t.text} for t in self.traits
            ],
        }


@dataclass(frozen=True)
class _Stats:
    """Per-cluster and overall means and the overall standard deviation of every column."""

    means: Matrix  # k x d
    overall: Matrix  # d
    spread: Matrix  # d


def describe_clusters(
    spec: FeatureSpec,
    matrix: Matrix,
    labels: npt.NDArray[np.int64],
    k: int,
    activated: npt.NDArray[np.bool_] | None = None,
    top: int = 3,
) -> list[ClusterProfile]:
    """One description per cluster, in cluster order."""
    columns = spec.columns()
    sizes = np.bincount(labels, minlength=k)
    stats = _stats(matrix, labels, k, sizes)
    rates = None
    if activated is not None:
        rates = np.bincount(labels, weights=activated.astype(float), minlength=k) / np.maximum(
            sizes, 1
        )
    out = []
    for c in range(k):
        scores = (stats.means[c] - stats.overall) / np.where(stats.spread > 0, stats.spread, np.inf)
        chosen = _strongest(columns, scores, top)
        members = labels == c
        traits = tuple(
            _trait(spec, columns, j, float(scores[j]), matrix, members, stats, c) for j in chosen
        )
        rate = float(rates[c]) if rates is not None else None
        out.append(ClusterProfile(c, int(sizes[c]), float(sizes[c] / len(labels)), rate, traits))
    return out


def _stats(
    matrix: Matrix, labels: npt.NDArray[np.int64], k: int, sizes: npt.NDArray[np.int64]
) -> _Stats:
    d = matrix.shape[1]
    means = np.zeros((k, d))
    overall = np.zeros(d)
    spread = np.zeros(d)
    n = max(len(labels), 1)
    for j in range(d):
        column = np.ascontiguousarray(matrix[:, j])
        means[:, j] = np.bincount(labels, weights=column, minlength=k) / np.maximum(sizes, 1)
        overall[j] = column.sum() / n
        spread[j] = np.sqrt(max(float((column * column).sum() / n - overall[j] ** 2), 0.0))
    return _Stats(means, overall, spread)


def _strongest(columns: list[Column], scores: Matrix, top: int) -> list[int]:
    """The `top` columns with the largest |score|, at most one per trait, event or stage."""
    seen: set[tuple[str, str]] = set()
    chosen: list[int] = []
    for j in np.argsort(-np.abs(scores), kind="stable"):
        source = (columns[j].source, columns[j].key)
        if source in seen or not np.isfinite(scores[j]) or abs(scores[j]) < 0.1:
            continue
        seen.add(source)
        chosen.append(int(j))
        if len(chosen) == top:
            break
    return chosen


def _trait(
    spec: FeatureSpec,
    columns: list[Column],
    j: int,
    score: float,
    matrix: Matrix,
    members: npt.NDArray[np.bool_],
    stats: _Stats,
    cluster: int,
) -> Trait:
    column = columns[j]
    if column.kind in ("numeric", "event", "hours"):
        text, slug = _level(spec, column, matrix[:, j], matrix, j, members, score > 0)
    else:
        shares = f"{_pct(stats.means[cluster, j])} (vs {_pct(stats.overall[j])} overall)"
        text, slug = _share(column, shares, _days(spec.window_hours), score > 0)
    return Trait(column.label, round(score, 3), text, slugify(slug))


def _share(column: Column, shares: str, days: str, high: bool) -> tuple[str, str]:
    """Sentence and name fragment for a 0/1 column: how common it is in the cluster."""
    key = column.key
    match column.kind:
        case "category":
            slug = f"{key}_{column.value}" if high else f"not_{key}_{column.value}"
            return f"{key} is {column.value}: {shares}", slug
        case "other":
            return f"{key} is another value: {shares}", f"other_{key}" if high else f"usual_{key}"
        case "reached":
            return (
                f"reached {key} within {days}: {shares}",
                f"reaches_{key}" if high else f"no_{key}",
            )
        case _:  # a missing trait
            return f"no {key} trait: {shares}", f"no_{key}" if high else f"has_{key}"


def _level(
    spec: FeatureSpec,
    column: Column,
    values: Matrix,
    matrix: Matrix,
    j: int,
    members: npt.NDArray[np.bool_],
    high: bool,
) -> tuple[str, str]:
    """Sentence and name fragment for a continuous column, in the units authors know."""
    key = column.key
    if column.kind == "event":
        ours, everyone = _mean_count(values[members]), _mean_count(values)
        text = f"{key} in the first {_days(spec.window_hours)}: {ours:.1f} per profile "
        return text + f"(vs {everyone:.1f} overall)", f"many_{key}" if high else f"few_{key}"
    if column.kind == "numeric":
        log = next(t.log for t in spec.numeric if t.key == key)
        known = matrix[:, j + 1] == 0  # the missing indicator follows the value
        text = f"{key}: median {_median(values[members & known], log)}"
        text += f" (vs {_median(values[known], log)} overall)"
        return text, f"high_{key}" if high else f"low_{key}"
    reached = matrix[:, j - 1] == 1  # hours to a stage: only those who reached it
    text = f"hours to {key}: median {_median(values[members & reached], False)}"
    text += f" (vs {_median(values[reached], False)} overall)"
    return text, f"slow_{key}" if high else f"fast_{key}"


def _median(values: Matrix, log: bool) -> str:
    if values.size == 0:
        return "n/a"
    middle = float(np.median(values))
    middle = float(np.expm1(middle)) if log else middle
    return f"{middle:,.0f}" if abs(middle) >= 10 else f"{middle:.1f}"


def _mean_count(values: Matrix) -> float:
    return float(np.expm1(values).mean()) if values.size else 0.0


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _days(hours: float) -> str:
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' * (days != 1)}"
    return f"{hours:g} hours"


_NOT_NAME = re.compile(r"[^a-z0-9]+")


def slugify(text: str, limit: int = 40) -> str:
    """A name-safe fragment: lowercase letters and digits joined by `_`."""
    slug = _NOT_NAME.sub("_", text.lower()).strip("_")[:limit].strip("_")
    return slug or "profiles"
