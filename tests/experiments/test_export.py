"""`experiments export`: the live per-user file, whose offline analysis gives exactly the
live report's numbers (both backends), for a rate and for a mean primary metric."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from engine.catalog import load_catalog
from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.experiments.analyze import analyze_csv
from engine.experiments.commands import export_command
from engine.experiments.service import assign, experiment_results, fold_experiments
from engine.experiments.statistics import AnalysisOptions, MinimumSample
from engine.ml.commands import insight_command
from engine.store.db import write_transaction
from tests.conftest import START
from tests.experiments.conftest import BASE, SPLIT
from tests.experiments.factories import add_events, create_profile, enter_stage

KEY = "split-test"
COUNTED = "  metric: {event_count: campaign_sent, within: 14d}\n"


def content(root: Path, extra: str = "") -> Path:
    shutil.copytree(BASE, root, dirs_exist_ok=True)
    flow = SPLIT.replace("  variants:", extra + "  variants:")
    (root / "flows" / "split.yaml").write_text(flow, encoding="utf-8")
    return root


def seed(engine: Engine, catalog: Catalog, n: int = 300) -> None:
    """Profiles exposed over 40 days, some anonymous, converting and sending campaigns."""
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    rng = random.Random(5)
    with write_transaction(engine) as conn:
        for pid in range(1, n + 1):
            user_id = f"u{pid}" if pid % 7 else None
            persona = rng.choice([None, "beginner", "power"])
            create_profile(conn, pid, user_id=user_id, persona=persona)
            exposed = START - timedelta(days=rng.uniform(0, 40))
            a = assign(conn, experiment, profile_id=pid, user_id=user_id, now=exposed)
            # Activity before exposure (the CUPED covariate), which predicts conversion.
            active = rng.choice([0, 0, 1, 3, 6])
            before = [
                (pid, "page", "pricing", exposed - timedelta(days=d + 0.5)) for d in range(active)
            ]
            add_events(conn, before)
            if rng.random() < min(0.95, (0.1 if a.variant == "control" else 0.2) + 0.12 * active):
                enter_stage(conn, pid, "activation", exposed + timedelta(days=rng.uniform(0, 13)))
            sends = rng.choice([0, 0, 1, 2, 5]) + (a.variant == "b")
            add_events(
                conn,
                [
                    (pid, "track", "campaign_sent", exposed + timedelta(days=d))
                    for d in range(sends)
                ],
            )


def export_and_analyze(
    tmp_path: Path, db_url: str, root: Path, catalog: Catalog
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    settings = Settings(env="test", database_url=db_url, content_dir=root)
    target = tmp_path / "export.csv"
    assert export_command(KEY, target, settings=settings, clock=FrozenClock(START)) == 0
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    minimum = MinimumSample(experiment.minimum_sample.users, experiment.minimum_sample.conversions)
    offline = analyze_csv(
        target,
        weights={name: float(w) for name, w in experiment.variants.items()},
        options=AnalysisOptions(minimum=minimum),
    )
    return offline, live_report(db_url, catalog), target


def live_report(db_url: str, catalog: Catalog) -> dict[str, Any]:
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            results = experiment_results(conn, catalog, KEY, START)
    finally:
        engine.dispose()
    return results.model_dump(mode="json", exclude_unset=True)


def same_numbers(offline: dict[str, Any], live: dict[str, Any]) -> None:
    for name in ("control", "users", "srm_p_value", "variants", "comparisons"):
        assert offline[name] == live[name], name
    assert len(offline["segments"]) == len(live["segments"])
    for mine, theirs in zip(offline["segments"], live["segments"], strict=True):
        assert mine == theirs


def test_the_export_analyses_to_the_live_report(
    tmp_path: Path, db_engine: Engine, db_url: str
) -> None:
    root = content(tmp_path / "content")
    catalog, problems = load_catalog(root)
    assert catalog is not None, problems
    seed(db_engine, catalog)
    fold_experiments(db_engine, catalog, START - timedelta(days=3))  # folded sums and a tail
    offline, live, target = export_and_analyze(tmp_path, db_url, root, catalog)
    same_numbers(offline, live)
    assert live["comparisons"][0]["p_value"] is not None  # a real comparison, not neutral
    assert live["comparisons"][0]["cuped_variance_reduction"] > 0.05  # the covariate helps
    assert [s["segment"] for s in live["segments"]] == ["(none)", "beginner", "power"]
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["user_id", "variant", "converted", "segment", "pre_metric"]
    assert rows[0]["variant"] == "control"
    assert any(row["user_id"].startswith("profile:") for row in rows)  # anonymous profiles
    # `personas insight` reads the same file: its per-persona arms are the live segments'.
    out = io.StringIO()
    assert insight_command(target, output_format="json", out=out) == 0
    personas = {p["persona"]: p for p in json.loads(out.getvalue())["personas"]}
    assert set(personas) == {s["segment"] for s in live["segments"]}
    for segment in live["segments"]:
        users = {arm["variant"]: arm["users"] for arm in segment["variants"]}
        found = personas[segment["segment"]]
        assert found["control_users"] == users["control"]
        assert [(v["variant"], v["users"]) for v in found["variants"]] == [("b", users["b"])]


def test_a_mean_primary_metric_goes_to_the_value_column(
    tmp_path: Path, db_engine: Engine, db_url: str
) -> None:
    root = content(tmp_path / "content", COUNTED)
    catalog, problems = load_catalog(root)
    assert catalog is not None, problems
    seed(db_engine, catalog)
    offline, live, target = export_and_analyze(tmp_path, db_url, root, catalog)
    value = offline["value"]
    for name in ("control", "users", "srm_p_value", "variants", "comparisons"):
        assert value[name] == live[name], name
    assert live["comparisons"][0]["p_value"] is not None
    assert target.read_text(encoding="utf-8").splitlines()[0] == (
        "user_id,variant,converted,segment,pre_metric,value"
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_unknown_experiment_and_unwritable_file_exit_1(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(env="test", database_url=db_url, content_dir=content(tmp_path / "c"))
    assert export_command("nope", tmp_path / "x.csv", settings=settings) == 1
    assert "no experiment 'nope'" in capsys.readouterr().err
    assert export_command(KEY, tmp_path / "missing" / "x.csv", settings=settings) == 1
    assert "cannot write" in capsys.readouterr().err
