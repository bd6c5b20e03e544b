"""Fixed per-user data sets shared by the statistics tests, and the API with the
experiments router."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI

from engine.catalog import load_catalog
from engine.catalog.catalog import Catalog
from engine.experiments.endpoints import router as experiments_router

BASE = Path(__file__).resolve().parents[1] / "catalog" / "corpus" / "_base"
SPLIT = """\
flow: split
trigger: {stage: signup}
experiment:
  key: split-test
  variants: {control: 40, b: 60}
steps:
  - email: welcome
"""
HOLDOUT = "holdout: onboarding-holdout\npercent: 10\n"


@pytest.fixture(scope="module")
def experiment_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("content")
    shutil.copytree(BASE, root, dirs_exist_ok=True)
    (root / "flows" / "split.yaml").write_text(SPLIT, encoding="utf-8")
    (root / "flows" / "holdout.yaml").write_text(HOLDOUT, encoding="utf-8")
    return root


@pytest.fixture
def catalog(experiment_content: Path) -> Catalog:
    loaded, problems = load_catalog(experiment_content)
    assert loaded is not None, problems
    return loaded


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The real app; the experiments router is added if create_app does not include it yet."""
    paths = {getattr(route, "path", "") for route in app.router.routes}
    if "/v1/experiments" not in paths:
        app.include_router(experiments_router)
    return app


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
