"""Fixed per-user data sets shared by the statistics tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def conversion_data() -> dict[str, np.ndarray]:
    """Two arms of 0/1 conversions with a pre-exposure covariate that predicts them."""
    rng = np.random.default_rng(7)
    out: dict[str, np.ndarray] = {}
    for name, n, lift in (("control", 2400, 0.0), ("variant", 2600, 0.02)):
        pre = rng.gamma(2.0, 1.0, size=n)
        out[name] = (rng.random(n) < 0.05 + 0.03 * pre + lift).astype(float)
        out[name + "_pre"] = pre
    return out


@pytest.fixture(scope="module")
def value_data() -> dict[str, np.ndarray]:
    """Two arms of a skewed per-user metric (events per user) with a correlated covariate."""
    rng = np.random.default_rng(11)
    out: dict[str, np.ndarray] = {}
    for name, n, scale in (("control", 900, 1.0), ("variant", 1100, 1.08)):
        pre = rng.gamma(2.0, 1.5, size=n)
        out[name] = rng.poisson(scale * (1.0 + pre)).astype(float)
        out[name + "_pre"] = pre
    return out
