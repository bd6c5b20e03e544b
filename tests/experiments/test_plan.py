"""The experiment plan over HTTP and the CLI: live traffic and baseline into the planning
formulas (checked by simulation in test_planning.py), and refused parameters."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.experiments.commands import plan_command
from engine.experiments.planning import days_needed, minimum_detectable_effect
from tests.conftest import ADMIN_KEY, START
from tests.experiments.test_api import KEY, seed
from tests.web.conftest import mount


def test_the_plan_uses_the_live_traffic_and_baseline(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, catalog: Catalog
) -> None:
    seeded = seed(db_engine, catalog)
    plan = client.get(f"/v1/experiments/{KEY}/plan?lift=0.2", headers=admin_headers).json()
    results = client.get(f"/v1/experiments/{KEY}/results", headers=admin_headers).json()
    first = min(exposed for _, _, _, exposed in seeded.values())
    running = (START - first) / timedelta(days=1)
    assert plan["exposed"] == len(seeded)
    assert plan["running_days"] == pytest.approx(running)
    assert plan["daily_exposures"] == pytest.approx(len(seeded) / running)
    assert plan["counted"] == results["users"]
    assert plan["baseline"] == pytest.approx(results["variants"][0]["rate"])
    assert (plan["test"], plan["lift"], plan["power"], plan["window_days"]) == (
        "relative",
        0.2,
        0.8,
        14.0,
    )
    (variant,) = plan["variants"]
    shares = {"control_share": 0.4, "variant_share": 0.6}
    now = minimum_detectable_effect(plan["counted"], 1, plan["baseline"], **shares)
    assert variant["mde_now"] == pytest.approx(now.relative)
    needed = days_needed(plan["daily_exposures"], plan["baseline"], 0.2, **shares)
    assert (variant["days_needed"], variant["users_needed"]) == (needed.days, needed.users)
    assert variant["days_remaining"] == max(0, needed.days - int(running))  # type: ignore[operator]
    assert [h["days"] for h in variant["horizons"]] == [7, 14, 28, 56]
    mdes = [h["mde"] for h in variant["horizons"]]
    for horizon in variant["horizons"]:
        expected = minimum_detectable_effect(
            plan["daily_exposures"], horizon["days"], plan["baseline"], **shares
        )
        assert (horizon["users"], horizon["mde"]) == (expected.users, expected.relative)
    detectable = [m for m in mdes if m is not None]
    assert detectable  # 56 days of this traffic detect some lift
    assert detectable == sorted(detectable, reverse=True)  # more days, smaller lifts


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lift=-1", "query.lift"),
        ("lift=nan", "query.lift"),
        ("lift=abc", "query.lift"),
        ("power=1.5", "query.power"),
    ],
)
def test_refused_parameters_name_the_field(
    client: TestClient, admin_headers: dict[str, str], query: str, field: str
) -> None:
    response = client.get(f"/v1/experiments/{KEY}/plan?{query}", headers=admin_headers)
    body = response.json()
    assert response.status_code == 400, body  # the house's status for a refused parameter
    assert set(body) == {"code", "message", "errors"}
    assert [error["field"] for error in body["errors"]] == [field], body


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_empty_experiment_has_no_baseline(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    plan = client.get(f"/v1/experiments/{KEY}/plan", headers=admin_headers).json()
    assert (plan["exposed"], plan["baseline"]) == (0, None)
    assert plan["variants"] == [
        {
            "variant": "b",
            "mde_now": None,
            "horizons": [],
            "days_needed": None,
            "users_needed": None,
            "days_remaining": None,
            "reason": "no_baseline",
        }
    ]
    missing = client.get("/v1/experiments/nope/plan", headers=admin_headers)
    assert missing.status_code == 404


def test_the_plan_command_prints_the_api_document(
    db_url: str,
    experiment_content: Path,
    db_engine: Engine,
    catalog: Catalog,
    client: TestClient,
    admin_headers: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(db_engine, catalog)
    settings = Settings(env="test", database_url=db_url, content_dir=experiment_content)
    clock = FrozenClock(START)
    assert plan_command(KEY, "json", lift=0.2, settings=settings, clock=clock) == 0
    printed = json.loads(capsys.readouterr().out)
    api = client.get(f"/v1/experiments/{KEY}/plan?lift=0.2", headers=admin_headers).json()
    assert printed == api
    assert plan_command(KEY, "table", lift=0.2, settings=settings, clock=clock) == 0
    table = capsys.readouterr().out
    assert "days of exposure for +20%" in table
    assert plan_command(KEY, "json", lift=-3, settings=settings) == 1
    assert "--lift" in capsys.readouterr().err


def test_the_dashboard_shows_the_plan_and_no_lift_below_the_minimum(
    app: FastAPI,
    admin_headers: dict[str, str],
    db_engine: Engine,
    catalog: Catalog,
) -> None:
    seed(db_engine, catalog)
    with TestClient(mount(app)) as browser:
        assert browser.post("/dashboard/login", data={"admin_key": ADMIN_KEY}).status_code == 200
        page = browser.get(f"/dashboard/experiments/{KEY}")
        plan = browser.get(f"/v1/experiments/{KEY}/plan", headers=admin_headers).json()
    assert page.status_code == 200
    panel = page.text.split('data-testid="plan"')[1].split("</section>")[0]
    (variant,) = plan["variants"]
    assert "Planning" in panel
    assert f"{plan['daily_exposures']:.1f} exposures per day" in panel
    assert f'<td class="num">{variant["days_needed"]}</td>' in panel
    # The seed has personas under the minimum sample: their rows say so, with no lift.
    assert "not enough data" in page.text
