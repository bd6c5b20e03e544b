"""The activation model finds a planted signal, finds nothing in noise, and is calibrated."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from engine.ml.activation import (
    TrainingError,
    TrainOptions,
    auc_interval,
    measure,
    train_activation,
)
from engine.ml.features import FeatureSpec, SpecOptions, encode, infer_spec
from tests.ml.synthetic import observations, population


def training_data(
    mode: str, seed: int, n: int = 3000
) -> tuple[FeatureSpec, np.ndarray, np.ndarray]:
    sketches, _ = population(n, seed, activation=mode)  # type: ignore[arg-type]
    obs = observations(sketches, 24.0)  # the first day only
    labels = ~np.isnan(obs.stage_hours[:, 1])  # planted activation happens after day one
    spec = infer_spec(obs, 24.0, SpecOptions())
    spec = FeatureSpec(
        spec.window_hours, spec.numeric, spec.categorical, spec.events, ("first_login",)
    )
    return spec, encode(spec, obs), labels


@pytest.mark.parametrize("seed", [0, 1])
def test_a_planted_signal_is_found(seed: int) -> None:
    spec, matrix, labels = training_data("signal", seed)
    training = train_activation(matrix, labels, spec.columns(), TrainOptions(seed=seed))
    quality = training.quality
    assert quality.auc >= 0.8
    assert quality.auc_interval[0] > 0.75
    assert quality.brier < quality.brier_baseline  # better than predicting the base rate
    assert quality.calibration_error < 0.08
    assert training.coefficients[0][0] == "event:campaign_created"  # the planted cause
    assert training.coefficients[0][1] > 0
    assert quality.train_profiles + quality.test_profiles == len(labels)


@pytest.mark.parametrize("seed", [0, 1])
def test_noise_scores_like_a_coin(seed: int) -> None:
    spec, matrix, labels = training_data("noise", seed)
    quality = train_activation(matrix, labels, spec.columns(), TrainOptions(seed=seed)).quality
    assert quality.auc == pytest.approx(0.5, abs=0.06)
    assert quality.auc_interval[0] < 0.5 < quality.auc_interval[1] + 0.02


def test_auc_agrees_with_the_mann_whitney_statistic() -> None:
    rng = np.random.default_rng(3)
    outcome = rng.random(500) < 0.3
    predicted = np.clip(0.3 + 0.2 * outcome + rng.normal(0, 0.2, 500), 0, 1)
    quality = measure(outcome, predicted, bins=10)
    u = mannwhitneyu(predicted[outcome], predicted[~outcome]).statistic
    assert quality.auc == pytest.approx(u / (outcome.sum() * (~outcome).sum()))
    # Calibration bins partition the profiles, ordered by predicted probability.
    assert sum(b.profiles for b in quality.calibration) == 500
    assert [b.predicted for b in quality.calibration] == sorted(
        b.predicted for b in quality.calibration
    )
    observed = np.average(
        [b.observed for b in quality.calibration], weights=[b.profiles for b in quality.calibration]
    )
    assert observed == pytest.approx(outcome.mean())


def test_the_auc_interval_narrows_with_more_profiles() -> None:
    small = auc_interval(0.8, 50, 50)
    large = auc_interval(0.8, 5000, 5000)
    assert small[0] < large[0] < 0.8 < large[1] < small[1]
    # Hanley & McNeil by hand: q1 = 0.8/1.2, q2 = 1.28/1.8, se = sqrt(4.9511 / 2500) = 0.0445.
    assert (small[1] - small[0]) / (2 * 1.96) == pytest.approx(0.0445, abs=0.0002)


def test_one_outcome_only_cannot_train() -> None:
    spec, matrix, labels = training_data("signal", 0, n=200)
    with pytest.raises(TrainingError, match="at least 10"):
        train_activation(matrix, np.zeros(len(labels), dtype=bool), spec.columns(), TrainOptions())
