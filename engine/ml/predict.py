"""Loaded models, applied with plain numpy: the persona assigner and the activation-risk scorer.

A saved model is a scikit-learn pipeline (`StandardScaler` then `KMeans` or
`LogisticRegression`, see `artifacts`). Once loaded and checked, its fitted parameters are
copied into these small frozen objects, because ingestion scores a handful of profiles per
batch and scikit-learn's per-call input validation costs more than the arithmetic:

    persona   argmin_c ||(x - mean) / scale - center_c||^2      (KMeans.predict)
    risk      1 - sigmoid(((x - mean) / scale) . coef + b)       (1 - P(activation))

`artifacts` checks on every load that these formulas reproduce the pipeline's own
predictions on the probe rows stored with the model.

Model outputs are facts about a profile like its traits: `outputs(facts, now)` gives one
value per profile, None when the model has nothing to say (an activation model before the
profile's observation window has closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from engine.ml.features import FeatureSpec, Matrix, encode
from engine.ml.observe import FactsLike, observe

ModelKind = Literal["personas", "activation"]
SIGNUP_STAGE = "signup"  # the stage whose entry starts a profile's window (see observe)


@dataclass(frozen=True)
class ModelReads:
    """What a model's output depends on, so ingestion re-scores only when it can change."""

    event_names: frozenset[str]
    trait_keys: frozenset[str]
    stages: frozenset[str]
    time_relative: bool


def _reads(spec: FeatureSpec, time_relative: bool, extra_stages: frozenset[str]) -> ModelReads:
    return ModelReads(
        event_names=frozenset(spec.events),
        trait_keys=spec.trait_keys,
        stages=frozenset(spec.stages) | {SIGNUP_STAGE} | extra_stages,
        time_relative=time_relative,
    )


def _standardize(x: Matrix, mean: Matrix, scale: Matrix) -> Matrix:
    return (x - mean) / scale


@dataclass(frozen=True, eq=False)
class PersonaModel:
    """Assigns a profile to the nearest discovered persona (a KMeans cluster)."""

    kind: ClassVar[ModelKind] = "personas"
    name: str
    version: int
    spec: FeatureSpec
    mean: Matrix
    scale: Matrix
    centers: Matrix

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def clusters(self) -> int:
        return int(self.centers.shape[0])

    @property
    def reads(self) -> ModelReads:
        return _reads(self.spec, False, frozenset())

    def assign(self, matrix: Matrix) -> npt.NDArray[np.int64]:
        """The cluster of each row of an encoded matrix."""
        z = _standardize(matrix, self.mean, self.scale)
        # ||z - c||^2 = ||z||^2 - 2 z.c + ||c||^2; the first term is the same for every c.
        distances = (self.centers**2).sum(axis=1) - 2.0 * (z @ self.centers.T)
        return np.asarray(distances.argmin(axis=1), dtype=np.int64)

    def outputs(self, facts: Sequence[FactsLike], now: datetime) -> list[int | float | None]:
        """Each profile's cluster, from what is known of its first days so far."""
        if not facts:
            return []
        return [int(c) for c in self.assign(encode(self.spec, observe(facts, self.spec)))]


@dataclass(frozen=True, eq=False)
class ActivationModel:
    """Scores the risk that a profile does not reach `target_stage` within the label window.

    The score exists once the observation window (`spec.window_hours` after signup) has
    closed: the model learnt from complete windows, and a half-observed first day would
    look like a quiet one. A profile that already reached the target stage has risk 0.
    """

    kind: ClassVar[ModelKind] = "activation"
    name: str
    version: int
    spec: FeatureSpec
    mean: Matrix
    scale: Matrix
    coef: Matrix
    intercept: float
    target_stage: str

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.spec.window_hours)

    @property
    def reads(self) -> ModelReads:
        return _reads(self.spec, True, frozenset({self.target_stage}))

    def probability(self, matrix: Matrix) -> Matrix:
        """P(activation) of each row of an encoded matrix."""
        z = _standardize(matrix, self.mean, self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def outputs(self, facts: Sequence[FactsLike], now: datetime) -> list[int | float | None]:
        """Each profile's risk of not activating; None while its window is still open."""
        out: list[int | float | None] = [None] * len(facts)
        scored: list[int] = []
        for i, profile in enumerate(facts):
            if self.target_stage in profile.stage_entries:
                out[i] = 0.0
            elif profile.signup_at is not None and now >= profile.signup_at + self.window:
                scored.append(i)
        if scored:
            matrix = encode(self.spec, observe([facts[i] for i in scored], self.spec))
            for i, p in zip(scored, self.probability(matrix), strict=True):
                out[i] = 1.0 - float(p)
        return out


LoadedModel = PersonaModel | ActivationModel
