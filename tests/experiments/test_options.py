"""Options in the experiment's content: a Bayesian prior, and p-values corrected across
metrics (Holm or Benjamini-Hochberg), checked against statsmodels and the pure statistics."""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import statsmodels.stats.multitest as multitest
from sqlalchemy import Engine

from engine.catalog import load_catalog
from engine.catalog.catalog import Catalog
from engine.experiments.service import experiment_results
from engine.store.db import write_transaction
from tests.conftest import START
from tests.experiments.conftest import BASE, SPLIT
from tests.experiments.factories import add_events
from tests.experiments.test_api import KEY, seed


def seed_with_activity(engine: Engine, catalog: Catalog) -> None:
    """test_api's seed, plus activity on days 7 and 30 for the retention metrics."""
    seeded = seed(engine, catalog)
    rng = random.Random(3)
    rows = []
    for pid, (variant, _, _, exposed) in seeded.items():
        for day in (7.5, 30.5):
            if rng.random() < (0.35 if variant == "control" else 0.5):
                rows.append((pid, "page", "home", exposed + timedelta(days=day)))
    with write_transaction(engine) as conn:
        add_events(conn, rows)


def catalog_with(root: Path, extra: str) -> Catalog:
    shutil.copytree(BASE, root, dirs_exist_ok=True)
    flow = SPLIT.replace("  variants:", extra + "  variants:")
    (root / "flows" / "split.yaml").write_text(flow, encoding="utf-8")
    loaded, problems = load_catalog(root)
    assert loaded is not None, problems
    return loaded


@pytest.mark.parametrize(("method", "name"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_p_values_corrected_across_metrics(
    db_engine: Engine, catalog: Catalog, tmp_path: Path, method: str, name: str
) -> None:
    seed_with_activity(db_engine, catalog)
    corrected = catalog_with(tmp_path, f"  metric_correction: {method}\n")
    with db_engine.connect() as conn:
        plain = experiment_results(conn, catalog, KEY, START)
        found = experiment_results(conn, corrected, KEY, START)
    sections = [found, *found.secondary, *found.guardrails]
    raw = [c.p_value for s in [plain, *plain.secondary, *plain.guardrails] for c in s.comparisons]
    tested = [p for p in raw if p is not None]
    assert len(tested) >= 2
    _, expected, _, _ = multitest.multipletests(tested, method=name)
    got = [c.p_value_adjusted for s in sections for c in s.comparisons if c.p_value is not None]
    assert got == pytest.approx(list(expected))
    assert [c.p_value for s in sections for c in s.comparisons] == raw  # raw ones untouched
    assert found.settings.metric_correction == method


def test_a_prior_in_the_content_moves_the_chance_to_win(
    db_engine: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    seed(db_engine, catalog)
    skeptical = catalog_with(tmp_path, "  prior: {mean: 0.0, variance: 0.0025}\n")
    with db_engine.connect() as conn:
        flat = experiment_results(conn, catalog, KEY, START).comparisons[0]
        found = experiment_results(conn, skeptical, KEY, START).comparisons[0]
    assert flat.relative_lift is not None
    assert flat.relative_lift > 0
    assert found.chance_to_win is not None
    assert flat.chance_to_win is not None
    assert found.chance_to_win < flat.chance_to_win  # shrunk towards no lift
    assert found.p_value == flat.p_value  # the frequentist side is unchanged


def test_a_bad_prior_is_refused_at_load(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    flow = SPLIT.replace("  variants:", "  prior: {variance: 0}\n  variants:")
    (tmp_path / "flows" / "split.yaml").write_text(flow, encoding="utf-8")
    loaded, problems = load_catalog(tmp_path)
    assert loaded is None
    assert [p.format(tmp_path) for p in problems] == [
        "flows/split.yaml:5:21: expected a number > 0.0, got the number 0"
    ]
