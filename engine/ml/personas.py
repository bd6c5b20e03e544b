"""Persona discovery: standardise the features, cluster with k-means, choose k by silhouette.

Continuous columns are standardised to unit variance. A 0/1 indicator is instead divided by
0.5 * sqrt(2), as if it were a balanced one, whatever its frequency: standardising a rare
indicator (a category 2% of profiles have, a trait 5% lack) would turn it into a 7-sigma
coordinate, and k-means would spend clusters on such small, tight groups instead of on
personas. With this scale two profiles that differ on a categorical trait are as far apart
(squared distance 4) as two that differ by about 1.4 standard deviations on a number.

Choosing k (`k=None`) fits k-means for each candidate on a seeded sample of the profiles
(silhouette is quadratic in the rows it scores, so it is computed on a smaller sample
still) and keeps the k with the highest silhouette. The final model is then fitted on every
profile, started from the chosen sample centres, so a million profiles cost a few passes.

Clusters are renumbered largest first, so cluster 0 is the most common persona and the
numbering does not depend on k-means' random start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from engine.ml.features import Matrix

BINARY_SCALE = 0.5 * np.sqrt(2.0)


class DiscoveryError(ValueError):
    """The data cannot support the clustering asked for (too few profiles, no variation)."""


@dataclass(frozen=True)
class DiscoveryOptions:
    """k: fixed number of personas, or None to choose among `k_range` by silhouette."""

    k: int | None = None
    k_range: tuple[int, int] = (2, 8)
    seed: int = 0
    sample: int = 20_000
    silhouette_sample: int = 5_000
    n_init: int = 4


@dataclass(frozen=True)
class Candidate:
    """One k tried when choosing: its silhouette and within-cluster sum of squares (sample)."""

    k: int
    silhouette: float
    inertia: float


@dataclass(frozen=True)
class Discovery:
    """The fitted pipeline, every profile's cluster, and how k was chosen."""

    pipeline: Pipeline
    labels: npt.NDArray[np.int64]
    k: int
    silhouette: float
    inertia: float
    candidates: tuple[Candidate, ...]


def discover(
    matrix: Matrix, options: DiscoveryOptions, binary: npt.NDArray[np.bool_] | None = None
) -> Discovery:
    """Cluster the rows of an encoded feature matrix into personas; `binary` marks its 0/1
    columns (`FeatureSpec.binary()`)."""
    low, high = (options.k, options.k) if options.k is not None else options.k_range
    if low < 2 or high < low:
        raise DiscoveryError(f"k must be at least 2, got {low}..{high}")
    if matrix.shape[0] < 5 * high:
        raise DiscoveryError(
            f"{matrix.shape[0]} profiles are too few for {high} personas (need {5 * high})"
        )
    scaler = fit_scaler(matrix, binary)
    rng = np.random.default_rng(options.seed)
    sample = _sample(scaler.transform(matrix), options.sample, rng)
    if np.unique(sample, axis=0).shape[0] < high:
        raise DiscoveryError("the profiles are too alike to tell personas apart")
    fits = {k: _fit(sample, k, options.n_init, options.seed) for k in range(low, high + 1)}
    candidates = tuple(
        Candidate(k, _silhouette(sample, km, options), float(km.inertia_)) for k, km in fits.items()
    )
    best = max(candidates, key=lambda c: (c.silhouette, -c.k))
    final = KMeans(best.k, init=fits[best.k].cluster_centers_, n_init=1, random_state=options.seed)
    final.fit(scaler.transform(matrix))
    labels = _largest_first(final)
    pipeline = Pipeline([("scale", scaler), ("cluster", final)])
    return Discovery(pipeline, labels, best.k, best.silhouette, float(final.inertia_), candidates)


def fit_scaler(matrix: Matrix, binary: npt.NDArray[np.bool_] | None) -> StandardScaler:
    """A StandardScaler whose 0/1 columns keep the scale of a balanced indicator."""
    scaler = StandardScaler().fit(matrix)
    if binary is not None and binary.any():
        scaler.scale_ = np.where(binary, BINARY_SCALE, scaler.scale_)
    return scaler


def _sample(scaled: Matrix, size: int, rng: np.random.Generator) -> Matrix:
    if scaled.shape[0] <= size:
        return scaled
    return scaled[np.sort(rng.choice(scaled.shape[0], size, replace=False))]


def _fit(sample: Matrix, k: int, n_init: int, seed: int) -> KMeans:
    return KMeans(k, n_init=n_init, random_state=seed).fit(sample)


def _silhouette(sample: Matrix, model: KMeans, options: DiscoveryOptions) -> float:
    labels = model.labels_
    if len(np.unique(labels)) < 2:
        return -1.0
    size = min(options.silhouette_sample, sample.shape[0])
    return float(silhouette_score(sample, labels, sample_size=size, random_state=options.seed))


def _largest_first(model: KMeans) -> npt.NDArray[np.int64]:
    """Renumber clusters by decreasing size; returns the renumbered labels.

    The per-row labels are dropped from the model: they would make the saved file as
    large as the training set, and prediction only needs the centres.
    """
    labels = np.asarray(model.labels_, dtype=np.int64)
    sizes = np.bincount(labels, minlength=model.n_clusters)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    model.cluster_centers_ = model.cluster_centers_[order]
    del model.labels_
    return np.asarray(rank[labels], dtype=np.int64)
