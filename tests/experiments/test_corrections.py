"""Holm and Benjamini-Hochberg checked against statsmodels.multipletests."""

from __future__ import annotations

import numpy as np
import pytest

from engine.experiments.corrections import Correction, adjust_p_values


@pytest.mark.parametrize(("method", "statsmodels_name"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_match_statsmodels(method: Correction, statsmodels_name: str) -> None:
    import statsmodels.stats.multitest as multitest

    rng = np.random.default_rng(5)
    p_values = np.concatenate([rng.uniform(0, 1, 12), rng.uniform(0, 0.01, 4), [0.02, 0.02]])
    _, expected, _, _ = multitest.multipletests(p_values, method=statsmodels_name)
    assert adjust_p_values(list(p_values), method) == pytest.approx(list(expected), rel=1e-12)


def test_missing_p_values_are_skipped_and_not_counted() -> None:
    import statsmodels.stats.multitest as multitest

    _, expected, _, _ = multitest.multipletests([0.01, 0.04, 0.03], method="holm")
    adjusted = adjust_p_values([0.01, None, 0.04, 0.03], "holm")
    assert adjusted[1] is None
    assert [adjusted[0], adjusted[2], adjusted[3]] == pytest.approx(list(expected))


def test_none_leaves_values_alone() -> None:
    assert adjust_p_values([0.2, None, 0.01], "none") == [0.2, None, 0.01]
    assert adjust_p_values([], "holm") == []
