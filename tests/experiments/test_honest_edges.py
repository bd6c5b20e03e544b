"""Honest edges in the live results: below the content's minimum sample a comparison is
"not enough data" (no inference, no plotted lift), and a settable minimum changes that."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.catalog import load_catalog
from engine.catalog.catalog import Catalog
from engine.experiments.service import assign, experiment_results
from engine.store.db import write_transaction
from engine.web.experiment_service import experiment_page
from engine.web.figures import experiment_figures
from tests.conftest import START
from tests.experiments.conftest import BASE, SPLIT
from tests.experiments.factories import create_profile, enter_stage

KEY = "split-test"


def catalog_with(tmp_path: Path, minimum: str) -> Catalog:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    flow = SPLIT.replace("  variants:", f"  minimum_sample: {minimum}\n  variants:")
    (tmp_path / "flows" / "split.yaml").write_text(flow, encoding="utf-8")
    loaded, problems = load_catalog(tmp_path)
    assert loaded is not None, problems
    return loaded


def seed_small(engine: Engine, catalog: Catalog, n: int = 24) -> None:
    """n profiles exposed 20 days ago, every third converting: under 20 users per arm."""
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    with write_transaction(engine) as conn:
        for pid in range(1, n + 1):
            create_profile(conn, pid, user_id=f"u{pid}")
            exposed = START - timedelta(days=20, hours=pid)
            assign(conn, experiment, profile_id=pid, user_id=f"u{pid}", now=exposed)
            if pid % 3 or pid % 2:
                enter_stage(conn, pid, "activation", exposed + timedelta(days=2))


def test_the_minimum_sample_defaults_and_is_refused_when_negative(tmp_path: Path) -> None:
    experiment = (
        catalog_with(tmp_path / "ok", "{users: 3, conversions: 1}").flows["split"].experiment
    )
    assert experiment is not None
    assert (experiment.minimum_sample.users, experiment.minimum_sample.conversions) == (3, 1)
    bad = tmp_path / "bad"
    shutil.copytree(BASE, bad, dirs_exist_ok=True)
    flow = SPLIT.replace("  variants:", "  minimum_sample: {users: -1}\n  variants:")
    (bad / "flows" / "split.yaml").write_text(flow, encoding="utf-8")
    loaded, problems = load_catalog(bad)
    assert loaded is None
    # file:line:column of the `users: -1` value
    assert [problem.format(bad) for problem in problems] == [
        "flows/split.yaml:5:27: expected a number >= 0, got the number -1"
    ]


def test_below_the_minimum_the_result_is_not_enough_data(
    db_engine: Engine, catalog: Catalog
) -> None:
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    assert (experiment.minimum_sample.users, experiment.minimum_sample.conversions) == (20, 5)
    seed_small(db_engine, catalog)
    with db_engine.connect() as conn:
        results = experiment_results(conn, catalog, KEY, START)
        page = experiment_page(conn, catalog, KEY, START, include_in_progress=False)
    (found,) = results.comparisons
    assert max(arm.users for arm in results.variants) < 20
    assert found.reason == "not_enough_data"
    assert (found.p_value, found.ci_relative, found.chance_to_win) == (None, None, None)
    assert found.relative_lift is not None  # the descriptive lift is still there
    figures = experiment_figures(page)
    assert "not enough data" in figures["lifts"]
    assert "<circle" not in figures["lifts"]  # no lift is drawn as a finding
    assert "no data yet" in figures["cumulative"]
    assert "<polyline" not in figures["cumulative"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_lower_minimum_in_the_content_gives_the_inference_back(
    db_engine: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    seed_small(db_engine, catalog)
    lenient = catalog_with(tmp_path, "{users: 2, conversions: 1}")
    with db_engine.connect() as conn:
        (found,) = experiment_results(conn, lenient, KEY, START).comparisons
        page = experiment_page(conn, lenient, KEY, START, include_in_progress=False)
    assert found.reason is None
    assert found.p_value is not None
    assert "<polyline" in experiment_figures(page)["cumulative"]
