"""Offline CSV analysis: numbers against scipy on the raw rows, errors as `file:line: message`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from engine.experiments.analyze import analyze_command, analyze_csv, parse_weights

HEADER = ["user_id", "variant", "converted", "pre_metric", "segment", "value"]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    rng = np.random.default_rng(2024)
    rows: list[dict[str, object]] = []
    for i in range(3000):
        variant = ["control", "tutorial_first", "tip_first"][i % 3]
        segment = "power_user" if rng.random() < 0.4 else "beginner_marketer"
        pre = float(rng.gamma(2.0, 1.0))
        rate = 0.06 + 0.02 * pre + (0.03 if variant == "tutorial_first" else 0.0)
        rows.append(
            {
                "user_id": f"u{i}",
                "variant": variant,
                "converted": int(rng.random() < rate),
                "pre_metric": round(pre, 4),
                "segment": segment,
                "value": int(rng.poisson(1 + pre)),
            }
        )
    path = tmp_path_factory.mktemp("export") / "experiment.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path, rows


def _column(rows: list[dict[str, object]], variant: str, name: str) -> np.ndarray:
    return np.array([float(r[name]) for r in rows if r["variant"] == variant])  # type: ignore[arg-type]


def test_report_numbers_match_scipy_on_the_raw_rows(
    export: tuple[Path, list[dict[str, object]]],
) -> None:
    path, rows = export
    report = analyze_csv(path)
    json.dumps(report, allow_nan=False)
    assert report["control"] == "control"
    counts = [
        sum(r["variant"] == v for r in rows) for v in ("control", "tutorial_first", "tip_first")
    ]
    assert report["srm_p_value"] == pytest.approx(stats.chisquare(counts).pvalue)
    control, variant = (
        _column(rows, "control", "converted"),
        _column(rows, "tutorial_first", "converted"),
    )
    arm = report["variants"][1]
    assert arm == {
        "variant": "tutorial_first",
        "users": len(variant),
        "conversions": int(variant.sum()),
        "rate": pytest.approx(variant.mean()),
    }
    expected = stats.ttest_ind_from_stats(
        variant.mean(),
        np.sqrt(variant.mean() * (1 - variant.mean())),
        len(variant),
        control.mean(),
        np.sqrt(control.mean() * (1 - control.mean())),
        len(control),
        equal_var=False,
    )
    comparison = report["comparisons"][0]
    assert comparison["variant"] == "tutorial_first"
    assert comparison["absolute_lift"] == pytest.approx(variant.mean() - control.mean())
    assert comparison["relative_lift"] == pytest.approx(variant.mean() / control.mean() - 1)
    assert comparison["p_value_absolute"] == pytest.approx(expected.pvalue, rel=1e-9)
    pre = np.concatenate(
        [_column(rows, "control", "pre_metric"), _column(rows, "tutorial_first", "pre_metric")]
    )
    assert comparison["cuped_theta"] == pytest.approx(
        np.polyfit(pre, np.concatenate([control, variant]), 1)[0], rel=1e-9
    )
    for key in (
        "ci_absolute",
        "ci_relative",
        "chance_to_win",
        "risk",
        "sequential_ci_relative",
        "cuped_relative_lift",
        "cuped_ci_relative",
    ):
        assert comparison[key] is not None, key


def test_value_metric_and_segments_are_reported(
    export: tuple[Path, list[dict[str, object]]],
) -> None:
    path, rows = export
    report = analyze_csv(path)
    value = report["value"]
    control, variant = _column(rows, "control", "value"), _column(rows, "tip_first", "value")
    expected = stats.ttest_ind(variant, control, equal_var=False)
    assert value["comparisons"][1]["variant"] == "tip_first"
    assert value["comparisons"][1]["p_value_absolute"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert value["variants"][0]["mean"] == pytest.approx(control.mean())
    assert [s["segment"] for s in report["segments"]] == ["beginner_marketer", "power_user"]
    segment = report["segments"][1]
    assert {"variants", "comparisons", "srm_p_value"} <= segment.keys()
    raw = [c["p_value"] for s in report["segments"] for c in s["comparisons"]]
    adjusted = [c["p_value_adjusted"] for s in report["segments"] for c in s["comparisons"]]
    assert all(a >= p for a, p in zip(adjusted, raw, strict=True))
    assert report["settings"]["segment_correction"] == "holm"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ":1: empty file"),
        ("user_id,variant\nu1,a\n", ":1: missing column converted"),
        ("user_id,variant,converted\n", ": no data rows"),
        (
            "user_id,variant,converted\nu1,a,1\nu2,b,yes\n",
            ":3: converted must be 0 or 1, got 'yes'",
        ),
        (
            "user_id,variant,converted\nu1,a,1\nu1,b,0\n",
            ":3: duplicate user_id 'u1' (first on line 2)",
        ),
        ("user_id,variant,converted\nu1,a\n", ":2: 2 fields, the header has 3"),
        ("user_id,variant,converted\nu1,,1\n", ":2: variant is empty"),
        ("user_id,variant,converted,pre_metric\nu1,a,1,nan\n", ":2: pre_metric must be a finite"),
        ("user_id,variant,converted,value\nu1,a,1,12abc\n", ":2: value must be a finite number"),
    ],
)
def test_bad_csv_exits_1_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    assert analyze_command(path, None, "json") == 1
    err = capsys.readouterr().err
    assert f"{path}{message}" in err
    assert "Traceback" not in err


def test_unknown_control_and_missing_file_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "user_id,variant,converted\nu1,a,1\nu2,b,0\n")
    assert analyze_command(path, "control", "table") == 1
    assert "control 'control' is not a variant (found: a, b)" in capsys.readouterr().err
    assert analyze_command(tmp_path / "missing.csv", None, "json") == 1
    assert "cannot read file" in capsys.readouterr().err


def test_json_output_and_default_control(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["user_id,variant,converted"]
    lines += [f"a{i},b,{int(i % 9 == 0)}" for i in range(200)]
    lines += [f"c{i},a,{int(i % 10 == 0)}" for i in range(180)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert analyze_command(path, None, "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["control"] == "b"  # no arm called "control": the first one in the file
    assert report["segments"] == []
    assert report["value"] is None
    assert "cuped_relative_lift" not in report["comparisons"][0]


def test_table_shows_the_srm_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["user_id,variant,converted,segment"]
    lines += [f"a{i},control,{int(i % 9 == 0)},p" for i in range(1000)]
    lines += [f"b{i},treatment,{int(i % 8 == 0)},p" for i in range(800)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert analyze_command(path, "control", "table", weights="control=50,treatment=50") == 0
    out = capsys.readouterr().out
    assert "WARNING: Sample ratio mismatch" in out
    assert "treatment" in out
    assert "Per segment" in out


def test_weights_parsing() -> None:
    assert parse_weights("control=50, b=25,c=25") == {"control": 50.0, "b": 25.0, "c": 25.0}
    with pytest.raises(ValueError, match="invalid weight"):
        parse_weights("control=fifty")
    with pytest.raises(ValueError, match="no weights"):
        parse_weights(" , ")


def test_weights_must_cover_every_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "user_id,variant,converted\nu1,a,1\nu2,b,0\n")
    assert analyze_command(path, "a", "json", weights="a=1") == 1
    assert "weights give no share for b" in capsys.readouterr().err


def test_unknown_format_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "user_id,variant,converted\nu1,a,1\n")
    assert analyze_command(path, None, "xml") == 1
    assert "--format must be json or table" in capsys.readouterr().err
