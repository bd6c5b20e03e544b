"""`parcours simulate` through the CLI: the timeline, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["simulate", "--content", str(ROOT), *args])
    return result.exit_code, result.output


def test_the_documented_example_prints_its_timeline() -> None:
    code, output = run(
        "--profile",
        str(EXAMPLES / "sophie.json"),
        "--events",
        str(EXAMPLES / "sophie.jsonl"),
        "--until",
        "7d",
    )
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split() == ["+0m", "stage", "signup", "entered"]
    assert any('"Welcome to Postwave, Sophie" [sent]' in line for line in lines)
    assert any("activation-rescue: converted (goal reached)" in line for line in lines)
    assert lines[-1].split()[0] == "+8d"


def test_events_out_of_order_are_reported_at_their_line(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"at": "2d", "event": "a"}\n\n{"at": "1d", "event": "b"}\n')
    code, output = run("--profile", str(EXAMPLES / "sophie.json"), "--events", str(events))
    assert code == 1
    assert f"{events}:3: events must be in time order" in output


def test_a_bad_profile_is_reported(tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    profile.write_text('{"traits": {}}')
    code, output = run("--profile", str(profile), "--events", str(EXAMPLES / "sophie.jsonl"))
    assert code == 1
    assert f"{profile}:1: expected" in output


def test_every_mistake_of_both_files_is_reported_at_once(tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    profile.write_text("[]")
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"at": "1d", "event": "a"}\n'
        "not json\n"
        '{"at": "2d", "event": 7}\n'
        '{"at": "soon", "event": "b"}\n'
        '{"at": "3d", "traits": "vip"}\n'
        '{"at": "4d"}\n'
        '{"at": "5d", "event": "c"}\n'
    )
    code, output = run("--profile", str(profile), "--events", str(events), "--until", "x")

    assert code == 1
    reported = [line.split(": ")[0] for line in output.splitlines()]
    assert reported == [
        f"{profile}:1",
        *(f"{events}:{n}" for n in (2, 3, 4, 5, 6)),
        "--until",
    ]
    assert f"{events}:3: 'event' must be a string" in output
    assert f"{events}:5: 'traits' must be an object" in output


def test_the_horizon_ends_the_simulation_and_later_timers_are_pending() -> None:
    code, output = run(
        "--profile",
        str(EXAMPLES / "sophie.json"),
        "--events",
        str(EXAMPLES / "sophie.jsonl"),
        "--until",
        "1d",
    )
    assert code == 0, output
    lines = output.splitlines()
    end = next(i for i, line in enumerate(lines) if line.split()[1:3] == ["end", "of"])
    assert lines[end].split()[0] == "+1d"
    # nothing happened after the horizon: the 4d activation event was not sent
    assert not any("activation entered" in line for line in lines)
    assert [line.split()[1:] for line in lines[end + 1 : -1]] == [
        ["timer", "activation-rescue:", "steps.0", "pending"]
    ]
    assert lines[-1] == "1 later event(s) not sent: after --until 1d"
