"""The `parcours` command line, through typer's runner."""

from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
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


def _commands(group: Any, prefix: str) -> list[str]:
    """Every leaf command under a group (typer vendors click, so groups are duck-typed)."""
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _commands(command, f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def test_the_readme_command_table_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `parcours ")]
    listed = {row.split("`")[1].split(" [")[0].split(" --")[0] for row in rows}
    commands = set(_commands(typer.main.get_command(app), "parcours"))
    # `experiments report KEY`: a positional argument is written in capitals
    assert {" ".join(w for w in c.split() if not w.isupper()) for c in listed} == commands


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output == f"parcours {version('parcours')}\n"


def test_flags_are_shown_as_flags_in_every_help() -> None:
    """A flag takes no value (`--serve`, not `--serve=false`), so no help may show one."""
    for command in _commands(typer.main.get_command(app), ""):
        result = CliRunner().invoke(app, [*command.split(), "--help"], terminal_width=200)

        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output, command
        assert "BOOLEAN" not in result.output, command
