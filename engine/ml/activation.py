"""The activation model: will this profile activate, judging by its first hours?

A standardised logistic regression: interpretable (its coefficients say which early
behaviours go with activation), calibrated by construction (it maximises the likelihood of
the observed outcomes, so a predicted 30% means about 30%), and cheap to apply per profile.

Quality is measured on a held-out, stratified split the model never saw:

    ROC AUC        chance that a random activator scores above a random non-activator,
                   with a 95% interval (Hanley & McNeil 1982); 0.5 is a coin
    Brier score    mean squared error of the probabilities (lower is better), next to the
                   score of always predicting the base rate
    calibration    predicted vs observed activation in ten equal-size bins, and the
                   expected calibration error (their size-weighted mean gap)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from engine.ml.features import Column, Matrix


class TrainingError(ValueError):
    """The data cannot train a model (too few profiles, only one outcome)."""


@dataclass(frozen=True)
class TrainOptions:
    seed: int = 0
    test_share: float = 0.25
    regularization: float = 1.0  # LogisticRegression's C: smaller is more regularised
    bins: int = 10


@dataclass(frozen=True)
class CalibrationBin:
    """Profiles whose predicted probability fell in one bin, and how many really activated."""

    profiles: int
    predicted: float
    observed: float


@dataclass(frozen=True)
class Quality:
    """Held-out quality of an activation model."""

    auc: float
    auc_interval: tuple[float, float]
    brier: float
    brier_baseline: float
    calibration_error: float
    calibration: tuple[CalibrationBin, ...]
    base_rate: float
    train_profiles: int
    test_profiles: int

    def to_json(self) -> dict[str, object]:
        return {
            "roc_auc": self.auc,
            "roc_auc_interval": list(self.auc_interval),
            "brier": self.brier,
            "brier_baseline": self.brier_baseline,
            "expected_calibration_error": self.calibration_error,
            "calibration": [
                {"profiles": b.profiles, "predicted": b.predicted, "observed": b.observed}
                for b in self.calibration
            ],
            "activation_rate": self.base_rate,
            "train_profiles": self.train_profiles,
            "test_profiles": self.test_profiles,
        }


@dataclass(frozen=True)
class Training:
    pipeline: Pipeline
    quality: Quality
    coefficients: tuple[tuple[str, float], ...]  # by decreasing |coefficient|


def train_activation(
    matrix: Matrix, activated: npt.NDArray[np.bool_], columns: list[Column], options: TrainOptions
) -> Training:
    """Fit on a stratified training split and measure on the held-out rest."""
    positives = int(activated.sum())
    negatives = len(activated) - positives
    if min(positives, negatives) < 10:
        raise TrainingError(
            f"need at least 10 profiles that activated and 10 that did not, "
            f"got {positives} and {negatives}"
        )
    x_train, x_test, y_train, y_test = train_test_split(
        matrix,
        activated,
        test_size=options.test_share,
        stratify=activated,
        random_state=options.seed,
    )
    model = LogisticRegression(C=options.regularization, max_iter=1000)
    pipeline = Pipeline([("scale", StandardScaler()), ("classify", model)]).fit(x_train, y_train)
    predicted = pipeline.predict_proba(x_test)[:, 1]
    quality = measure(np.asarray(y_test, dtype=bool), predicted, options.bins, len(y_train))
    ranked = sorted(
        zip((c.label for c in columns), model.coef_[0].tolist(), strict=True),
        key=lambda item: -abs(item[1]),
    )
    return Training(pipeline, quality, tuple((name, float(w)) for name, w in ranked))


def measure(
    outcome: npt.NDArray[np.bool_], predicted: Matrix, bins: int, train_profiles: int = 0
) -> Quality:
    """AUC, Brier score and calibration of probabilities `predicted` for `outcome`."""
    base = float(outcome.mean())
    auc = float(roc_auc_score(outcome, predicted))
    positives = int(outcome.sum())
    table = calibration_bins(outcome, predicted, bins)
    gap = sum(b.profiles * abs(b.observed - b.predicted) for b in table) / max(len(outcome), 1)
    return Quality(
        auc=auc,
        auc_interval=auc_interval(auc, positives, len(outcome) - positives),
        brier=float(brier_score_loss(outcome, predicted)),
        brier_baseline=base * (1.0 - base),
        calibration_error=float(gap),
        calibration=table,
        base_rate=base,
        train_profiles=train_profiles,
        test_profiles=len(outcome),
    )


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """95% interval of an AUC from the Hanley & McNeil (1982) standard error."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    variance = (
        auc * (1.0 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / max(positives * negatives, 1)
    half = 1.959963984540054 * math.sqrt(max(variance, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))


def calibration_bins(
    outcome: npt.NDArray[np.bool_], predicted: Matrix, bins: int
) -> tuple[CalibrationBin, ...]:
    """Equal-size bins of increasing predicted probability."""
    order = np.argsort(predicted, kind="stable")
    return tuple(
        CalibrationBin(len(part), float(predicted[part].mean()), float(outcome[part].mean()))
        for part in np.array_split(order, min(bins, len(order)))
        if len(part)
    )
