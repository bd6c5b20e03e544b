"""`parcours demo` on a small population: everything goes through the API and adds up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine.cli import app
from engine.demo.population import PERSONAS, population
from engine.demo.report import continuing, summarize
from engine.demo.runner import START, DemoConfig, run_demo
from engine.flows.repository import deliveries, runs
from engine.ingest.repository import events
from tests.conftest import ROOT


def test_personas_share_the_population() -> None:
    users = population(4_000, START, 20, seed=1)
    shares = {p.name: sum(u.persona is p for u in users) / len(users) for p in PERSONAS}
    for persona in PERSONAS:
        assert shares[persona.name] == pytest.approx(persona.share, abs=0.03)
    assert all(START <= u.signup_at <= START.replace(day=START.day + 20) for u in users)


def test_a_small_demo_adds_up(tmp_path: Path) -> None:
    config = DemoConfig(users=80, days=10, signup_days=5, directory=tmp_path, content_dir=ROOT)
    steps: list[int] = []
    demo = run_demo(config, lambda done, total: steps.append(total))
    assert steps == [20] * 20
    with demo.engine.connect() as conn:
        sent = conn.execute(
            select(func.count()).select_from(events).where(events.c.type != "internal")
        ).scalar_one()
        delivered = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
        summary = summarize(conn, demo.state.catalog, demo.clock.now())
    # every simulated event and every in-app outcome was stored through the API
    assert sent >= demo.events
    assert delivered > 80
    assert sum(summary.personas.values()) == 80
    assert summary.funnel
    assert all(f.get("signup", 0) > 0 for f in summary.funnel.values())
    assert summary.experiments[0].experiment == "welcome-tutorial-first"
    with demo.engine.connect() as conn:
        run_rows = conn.execute(select(runs.c.flow, runs.c.converted_at)).all()
        engaged = conn.execute(
            select(events.c.name, events.c.properties).where(
                events.c.name.in_(("email_opened", "email_clicked"))
            )
        ).all()
    flows = {f.flow: f for f in summary.flows}
    for name, flow in flows.items():  # each figure against a count of the rows in Python
        assert flow.entered == sum(1 for f, _ in run_rows if f == name)
        assert flow.converted == sum(1 for f, at in run_rows if f == name and at is not None)
        for kind, figure in (("email_opened", flow.opened), ("email_clicked", flow.clicked)):
            opened = {p["delivery_id"] for n, p in engaged if n == kind and p["flow"] == name}
            assert figure == len(opened)
        assert flow.clicked <= flow.emails_sent
    assert flows["welcome"].opened > 0  # recipients open through the tracking pixel
    beginners = summary.funnel["beginner_marketer"]
    assert continuing(summary, "beginner_marketer")[2] == (
        "first_login",
        "activation",
        beginners.get("activation", 0) / beginners["first_login"],
    )


def test_the_command_prints_the_summary_and_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows").symlink_to(ROOT / "flows")
    (tmp_path / "segments").symlink_to(ROOT / "segments")
    (tmp_path / "templates").symlink_to(ROOT / "templates")
    result = CliRunner().invoke(app, ["demo", "--users", "40", "--days", "6"])
    assert result.exit_code == 0, result.output
    assert "Stage funnel per persona" in result.output
    assert "Where users stall" in result.output
    assert "Biggest drop per persona:" in result.output
    assert "Flows (converted:" in result.output
    assert "parcours demo --serve" in result.output
    # not a terminal: no progress bar, so no lone `days` label
    assert not [line for line in result.output.splitlines() if line.startswith("days")]
    assert "experiment welcome-tutorial-first" in result.output
    report = (tmp_path / "var" / "demo" / "report.html").read_text()
    assert "<svg" in report
    assert "http" not in report.split("<body>")[0]  # no external assets


def test_the_demo_refuses_a_directory_without_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--users", "10"])
    assert result.exit_code == 2
    assert f"no flows in {tmp_path.resolve() / 'flows'}" in result.output
    assert not (tmp_path / "var").exists()
