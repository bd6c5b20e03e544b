"""The catalog admin API: inspect the live catalog, reload it atomically."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engine.catalog.catalog import Catalog
from engine.config import Settings
from tests.conftest import ROOT


@pytest.fixture
def content(tmp_path: Path) -> Path:
    for folder in ("flows", "segments", "templates"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture
def settings(settings: Settings, content: Path) -> Settings:
    return settings.model_copy(update={"content_dir": content})


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


def test_catalog_lists_stages_segments_and_flows(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = client.get("/v1/catalog", headers=admin_headers).json()
    assert body["status"] == "valid"
    assert [s["stage"] for s in body["stages"]] == [
        "discovery",
        "signup",
        "first_login",
        "activation",
        "exploration",
        "integration",
    ]
    assert {s["segment"] for s in body["segments"]} == {
        "beginner_marketer",
        "power_user",
        "team_admin",
        "trial_evaluator",
    }
    welcome = next(f for f in body["flows"] if f["flow"] == "welcome")
    assert welcome["trigger"] == {"stage": "signup"}
    assert welcome["experiment"] == "welcome-tutorial-first"
    goal = welcome["goal"]
    assert (goal["condition"], goal["within_seconds"]) == ({"stage": "activation"}, 14 * 86_400)
    assert "or after they ended" in goal["conversion"]  # which conversions the numbers count
    assert client.get("/v1/catalog").status_code == 401


def test_invalid_reload_is_refused_and_the_old_catalog_stays(
    client: TestClient, admin_headers: dict[str, str], content: Path
) -> None:
    (content / "segments" / "power_user.yaml").write_text(
        "segment: power_user\npriority: 40\nwhen:\n  trait: plan\n  equalz: pro\n"
    )
    response = client.post("/v1/catalog/reload", headers=admin_headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_content"
    problem = body["errors"][0]
    assert problem["path"].endswith("segments/power_user.yaml")
    assert (problem["line"], problem["column"]) == (5, 3)
    assert "equalz" in problem["message"]
    live = client.get("/v1/catalog", headers=admin_headers).json()
    assert len(live["segments"]) == 4
    assert live["rejected_reload"][0]["message"] == problem["message"]


def test_valid_reload_swaps_the_catalog(
    client: TestClient, admin_headers: dict[str, str], content: Path
) -> None:
    path = content / "segments" / "trial_evaluator.yaml"
    path.write_text(path.read_text().replace("priority: 10", "priority: 11"))
    response = client.post("/v1/catalog/reload", headers=admin_headers)
    assert response.status_code == 200, response.text
    priorities = {s["segment"]: s["priority"] for s in response.json()["segments"]}
    assert priorities["trial_evaluator"] == 11
    assert response.json()["rejected_reload"] == []
