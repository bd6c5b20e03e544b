"""Sample-ratio mismatch checked against scipy.stats.chisquare."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.experiments.srm import SRM_THRESHOLD, srm_test


@pytest.mark.parametrize(
    ("users", "weights"),
    [([5000, 5100], [50, 50]), ([3300, 3350, 3200], [1, 1, 1]), ([8100, 1900], [0.8, 0.2])],
)
def test_srm_matches_scipy_chisquare(users: list[int], weights: list[float]) -> None:
    expected_counts = np.array(weights) / sum(weights) * sum(users)
    expected = stats.chisquare(users, expected_counts)
    result = srm_test(users, weights)
    assert result.chi_square == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.warning is None


def test_mismatch_below_threshold_warns() -> None:
    result = srm_test([5000, 5400], [1, 1])
    expected = stats.chisquare([5000, 5400])
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.p_value is not None
    assert result.p_value < SRM_THRESHOLD
    assert result.warning is not None
    assert "Sample ratio mismatch" in result.warning


@pytest.mark.parametrize(
    ("users", "weights", "reason", "p_value"),
    [
        ([0, 0], [1, 1], "no_users", None),
        ([10], [1], "single_arm", None),
        ([10, 3], [1, 0], "users_in_zero_weight_arm", 0.0),
        ([10, 3], [1, -1], "invalid_weights", None),
        ([10, 3], [1], "weights_mismatch", None),
    ],
)
def test_degenerate_splits_give_a_reason(
    users: list[int], weights: list[float], reason: str, p_value: float | None
) -> None:
    result = srm_test(users, weights)
    assert result.reason == reason
    assert result.p_value == p_value
