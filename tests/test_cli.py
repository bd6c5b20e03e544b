"""The `parcours` command line, through typer's runner."""

from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_validate_example_content_exits_0() -> None:
    result = CliRunner().invoke(app, ["validate", str(ROOT)])
    assert result.exit_code == 0, result.output


def test_validate_reports_location_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "x.yaml").write_text(
        "segment: x\npriorty: 3\nwhen: {trait: a, equals: 1}\n"
    )
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--format", "text"])
    assert result.exit_code == 1
    assert "x.yaml:2:1: unknown key 'priorty' (did you mean 'priority'?)" in result.stdout


def test_validate_rejects_unknown_format() -> None:
    result = CliRunner().invoke(app, ["validate", str(ROOT), "--format", "xml"])
    assert result.exit_code == 2
