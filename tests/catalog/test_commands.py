"""`validate`: what `parcours validate [DIR] [--format text|json]` prints and returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.catalog.commands import validate

BASE = Path(__file__).parent / "corpus" / "_base"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_valid_content_exits_0_and_prints_no_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(BASE) == 0

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "content is valid: 3 stages, 2 segments, 1 flow, 1 template, 1 tutorial, 1 tip, "
        "1 endpoint\n"
    )


def test_problems_are_printed_sorted_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "content/segments/b.yaml", "segment: b\npriority: 1\nwhen: {segment: nope}\n")
    write(tmp_path / "content/flows/a.yaml", "flow: a\ntrigger: {stage: signup}\nsteps: []\n")
    monkeypatch.chdir(tmp_path)

    assert validate(Path("content")) == 1

    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "content/flows/a.yaml:3:8: expected at least 1 item",
        "content/segments/b.yaml:3:17: unknown segment 'nope'",
    ]
    assert err == "2 problems found\n"


def test_json_format_reports_validity_problems_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "flows/a.yaml", "flow: a\ntirgger: {stage: signup}\nsteps: [{exit: x}]\n")
    monkeypatch.chdir(tmp_path)

    assert validate(Path("."), output_format="json") == 1

    report = json.loads(capsys.readouterr().out)
    assert report == {
        "valid": False,
        "problems": [
            {
                "path": "flows/a.yaml",
                "line": 2,
                "column": 1,
                "message": "unknown key 'tirgger' (did you mean 'trigger'?)",
            }
        ],
        "counts": {},
    }


def test_json_format_counts_definitions_of_valid_content(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert validate(BASE, output_format="json") == 0

    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["counts"]["stages"] == 3


def test_a_missing_directory_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate(tmp_path / "nope") == 1

    assert capsys.readouterr().out == f"{tmp_path / 'nope'}: not a directory\n"


def test_a_directory_without_content_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert validate(Path(".")) == 1

    out = capsys.readouterr().out
    assert out == ".: no content found: expected flows/, segments/ or templates/emails/\n"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        validate(BASE, output_format="xml")
