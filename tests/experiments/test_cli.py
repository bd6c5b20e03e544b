"""`parcours experiments analyze` end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from scipy import stats
from typer.testing import CliRunner

from engine.cli import app


def write_csv(path: Path, rows: list[tuple[str, str, int]]) -> None:
    lines = ["user_id,variant,converted"] + [f"{u},{v},{c}" for u, v, c in rows]
    path.write_text("\n".join(lines) + "\n")


def test_analyze_prints_json_matching_welch(tmp_path: Path) -> None:
    rows = [(f"c{i}", "control", int(i < 100)) for i in range(1000)]
    rows += [(f"t{i}", "treatment", int(i < 130)) for i in range(1000)]
    csv = tmp_path / "export.csv"
    write_csv(csv, rows)
    result = CliRunner().invoke(
        app,
        ["experiments", "analyze", "--csv", str(csv), "--control", "control", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["control"] == "control"
    (comparison,) = report["comparisons"]
    assert comparison["absolute_lift"] == 0.13 - 0.10
    welch = stats.ttest_ind([1] * 130 + [0] * 870, [1] * 100 + [0] * 900, equal_var=False)
    assert abs(comparison["p_value_absolute"] - welch.pvalue) < 1e-3


def test_bad_csv_is_reported_with_its_line(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    write_csv(csv, [("u1", "control", 1), ("u2", "treatment", 1)])
    csv.write_text(csv.read_text() + "u3,treatment,maybe\n")
    result = CliRunner().invoke(app, ["experiments", "analyze", "--csv", str(csv)])
    assert result.exit_code == 1
    assert f"{csv}:4:" in result.output
