"""The `parcours` command line, through typer's runner."""

import socket
import uuid
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import Result
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from engine.cli import app
from engine.store.db import create_db_engine
from engine.store.migrate import code_heads

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


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own, never migrated (downgrading the shared one would hurt others)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    server = make_url(request.getfixturevalue("postgres_url"))
    name = f"cli_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(server.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def _db(*args: str, url: str) -> Result:
    return CliRunner().invoke(app, ["db", *args], env={"PARCOURS_DATABASE_URL": url})


def test_db_current_names_the_revisions_and_what_is_pending(empty_db_url: str) -> None:
    heads = sorted(code_heads())

    fresh = _db("current", url=empty_db_url)
    _db("upgrade", url=empty_db_url)
    upgraded = _db("current", url=empty_db_url)

    assert fresh.exit_code == 0
    assert fresh.output == (f"no revision (run parcours db upgrade)\npending: {', '.join(heads)}\n")
    assert upgraded.exit_code == 0
    assert upgraded.output == "\n".join(heads) + "\nup to date\n"


def test_db_downgrade_takes_the_schema_back_and_upgrade_returns(empty_db_url: str) -> None:
    _db("upgrade", url=empty_db_url)

    down = _db("downgrade", "0011", url=empty_db_url)
    current = _db("current", url=empty_db_url)
    engine = create_db_engine(empty_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    again = _db("upgrade", url=empty_db_url)

    assert down.exit_code == 0, down.output
    assert down.output == "database downgraded to 0011\n"
    assert current.output.splitlines()[0] == "0011"
    assert "worker_heartbeats" not in tables
    assert "profiles" in tables  # 0011 and below are kept
    assert again.exit_code == 0
    assert _db("current", url=empty_db_url).output.endswith("up to date\n")


def test_db_downgrade_to_an_unknown_revision_is_one_message(empty_db_url: str) -> None:
    _db("upgrade", url=empty_db_url)

    result = _db("downgrade", "no-such-rev", url=empty_db_url)

    assert result.exit_code == 2
    assert result.output.startswith("cannot downgrade to no-such-rev: ")
    assert "Traceback" not in result.output


def test_a_worker_metrics_port_in_use_is_one_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "PARCOURS_DATABASE_URL": f"sqlite:///{tmp_path / 'worker.db'}",
            "PARCOURS_WORKER_METRICS_PORT": str(port),
            "PARCOURS_CONTENT_DIR": str(ROOT),
        }
        result = CliRunner().invoke(app, ["worker"], env=env)

    assert result.exit_code == 2
    assert f"PARCOURS_WORKER_METRICS_PORT: cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
