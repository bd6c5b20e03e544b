"""`parcours experiments report KEY`: the API's results, from the CLI's settings."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.experiments.commands import report_command
from engine.experiments.service import assign
from engine.store.db import write_transaction
from tests.conftest import START
from tests.experiments.factories import create_profile, enter_stage


@pytest.fixture
def cli_settings(db_url: str, experiment_content: Path) -> Settings:
    return Settings(env="test", database_url=db_url, content_dir=experiment_content)


def seed(engine: Engine, catalog: Catalog) -> None:
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    with write_transaction(engine) as conn:
        for pid in range(1, 41):
            create_profile(conn, pid, user_id=f"u{pid}", persona="power" if pid % 2 else None)
            exposed = START - timedelta(days=20, hours=pid)
            assign(conn, experiment, profile_id=pid, user_id=f"u{pid}", now=exposed)
            if pid % 3:
                enter_stage(conn, pid, "activation", exposed + timedelta(days=2))


def test_json_report_is_the_api_document(
    cli_settings: Settings,
    db_engine: Engine,
    catalog: Catalog,
    client: TestClient,
    admin_headers: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(db_engine, catalog)
    code = report_command("split-test", "json", settings=cli_settings, clock=FrozenClock(START))
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    api = client.get("/v1/experiments/split-test/results", headers=admin_headers).json()
    assert printed == api
    assert printed["exposed"] == 40


def test_table_report(
    cli_settings: Settings, db_engine: Engine, catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db_engine, catalog)
    assert (
        report_command("split-test", "table", settings=cli_settings, clock=FrozenClock(START)) == 0
    )
    out = capsys.readouterr().out
    assert "Experiment: split-test   flow: split   exposed: 40" in out
    assert "Primary metric: activation_14d (rate; window 0d to 14d after exposure" in out
    assert "Per persona at exposure" in out
    assert "Guardrail metric: unsubscribed_30d (rate, lower is better" in out


def test_unknown_experiment_and_bad_format_exit_1(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_command("nope", "json", settings=cli_settings) == 1
    assert "no experiment 'nope'" in capsys.readouterr().err
    assert report_command("split-test", "xml", settings=cli_settings) == 1
    assert "--format must be table or json" in capsys.readouterr().err


def test_invalid_content_exits_1(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "bad.yaml").write_text("flow: [\n", encoding="utf-8")
    settings = cli_settings.model_copy(update={"content_dir": tmp_path})
    assert report_command("split-test", "table", settings=settings) == 1
    assert "is invalid" in capsys.readouterr().err
