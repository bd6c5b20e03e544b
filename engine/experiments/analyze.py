"""Offline analysis of an exported experiment: `parcours experiments analyze --csv FILE`.

The file has one row per user:

    user_id, variant, converted (0/1)            required
    pre_metric (float), segment, value (float)   optional

The rows are folded into per-arm sums in one pass (no per-user lists are kept besides the ids
used to refuse duplicates) and handed to the same pure statistics the engine runs on SQL
aggregates. A blank `pre_metric` or `value` counts as 0, as gbstats' SQL does with COALESCE
(a user with no pre-exposure activity); a blank `segment` is "(none)". Anything else that is
wrong stops the analysis with `file:line: message` and exit code 1.
"""

from __future__ import annotations

import _csv
import csv
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.experiments.arms import ArmStats
from engine.experiments.corrections import CORRECTIONS, Correction
from engine.experiments.statistics import AnalysisOptions, MinimumSample
from engine.experiments.summary import summarize, summarize_segments
from engine.experiments.table import render_table

REQUIRED_COLUMNS = ("user_id", "variant", "converted")
OPTIONAL_COLUMNS = ("pre_metric", "segment", "value")
NO_SEGMENT = "(none)"
_TRUE = {"1", "1.0", "true"}
_FALSE = {"0", "0.0", "false"}

__all__ = ["CsvInputError", "analyze_command", "analyze_csv", "read_export", "render_table"]


class CsvInputError(Exception):
    """A problem with the input file, rendered `file:line: message` (line omitted if none)."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class ArmSums:
    """Running sums for one arm: the conversion metric, the optional value and covariate."""

    users: int = 0
    conversions: float = 0.0
    pre_sum: float = 0.0
    pre_sum_squares: float = 0.0
    converted_pre: float = 0.0
    value_sum: float = 0.0
    value_sum_squares: float = 0.0
    value_pre: float = 0.0

    def add(self, converted: float, pre: float, value: float) -> None:
        self.users += 1
        self.conversions += converted
        self.pre_sum += pre
        self.pre_sum_squares += pre * pre
        self.converted_pre += converted * pre
        self.value_sum += value
        self.value_sum_squares += value * value
        self.value_pre += value * pre

    def conversion_stats(self, with_covariate: bool) -> ArmStats:
        return ArmStats.from_conversions(
            self.users,
            self.conversions,
            pre_sum=self.pre_sum if with_covariate else None,
            pre_sum_squares=self.pre_sum_squares if with_covariate else None,
            sum_products=self.converted_pre if with_covariate else None,
        )

    def value_stats(self, with_covariate: bool) -> ArmStats:
        return ArmStats(
            users=self.users,
            sum=self.value_sum,
            sum_squares=self.value_sum_squares,
            kind="mean",
            pre_sum=self.pre_sum if with_covariate else None,
            pre_sum_squares=self.pre_sum_squares if with_covariate else None,
            sum_products=self.value_pre if with_covariate else None,
        )


@dataclass
class ExportData:
    """Sums per variant (first-seen order) overall and per segment."""

    columns: frozenset[str]
    arms: dict[str, ArmSums] = field(default_factory=dict)
    segments: dict[str, dict[str, ArmSums]] = field(default_factory=dict)

    @property
    def has_covariate(self) -> bool:
        return "pre_metric" in self.columns


def read_export(path: Path) -> ExportData:
    """Fold the CSV into sums, or raise CsvInputError naming the file and line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _read_rows(csv.reader(handle), path)
    except OSError as exc:
        raise CsvInputError(path, None, f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CsvInputError(path, None, f"not UTF-8 text: {exc.reason}") from exc
    except csv.Error as exc:
        raise CsvInputError(path, None, f"malformed CSV: {exc}") from exc


def _read_rows(reader: _csv.Reader, path: Path) -> ExportData:
    header = next(reader, None)
    if header is None:
        raise CsvInputError(
            path, 1, "empty file; expected a header: " + ", ".join(REQUIRED_COLUMNS)
        )
    columns = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        found = ", ".join(columns) or "nothing"
        raise CsvInputError(path, 1, f"missing column {', '.join(missing)} (found: {found})")
    index = {
        name: columns.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in columns
    }
    data = ExportData(columns=frozenset(index))
    first_line: dict[str, int] = {}
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        line = reader.line_num
        if len(row) != len(columns):
            raise CsvInputError(path, line, f"{len(row)} fields, the header has {len(columns)}")
        _add_row(data, row, index, line, path, first_line)
    if not data.arms:
        raise CsvInputError(path, None, "no data rows")
    return data


def _add_row(
    data: ExportData,
    row: list[str],
    index: Mapping[str, int],
    line: int,
    path: Path,
    first_line: dict[str, int],
) -> None:
    def cell(name: str) -> str:
        return row[index[name]].strip() if name in index else ""

    user_id, variant = cell("user_id"), cell("variant")
    if not user_id:
        raise CsvInputError(path, line, "user_id is empty")
    if not variant:
        raise CsvInputError(path, line, "variant is empty")
    if user_id in first_line:
        raise CsvInputError(
            path, line, f"duplicate user_id {user_id!r} (first on line {first_line[user_id]})"
        )
    first_line[user_id] = line
    converted = _parse_converted(cell("converted"), line, path)
    pre = _parse_number(cell("pre_metric"), "pre_metric", line, path)
    value = _parse_number(cell("value"), "value", line, path)
    segment = cell("segment") or NO_SEGMENT
    data.arms.setdefault(variant, ArmSums()).add(converted, pre, value)
    if "segment" in index:
        data.segments.setdefault(segment, {}).setdefault(variant, ArmSums()).add(
            converted, pre, value
        )


def _parse_converted(text: str, line: int, path: Path) -> float:
    lowered = text.lower()
    if lowered in _TRUE:
        return 1.0
    if lowered in _FALSE:
        return 0.0
    raise CsvInputError(path, line, f"converted must be 0 or 1, got {text!r}")


def _parse_number(text: str, column: str, line: int, path: Path) -> float:
    if not text:
        return 0.0
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise CsvInputError(path, line, f"{column} must be a finite number, got {text!r}")
    return number


def analyze_csv(
    path: Path | str,
    control: str | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    options: AnalysisOptions = AnalysisOptions(),
    correction: Correction = "none",
    segment_correction: Correction = "holm",
) -> dict[str, Any]:
    """The JSON-ready report of an export (shape documented in docs/experiments.md)."""
    path = Path(path)
    data = read_export(path)
    control = _choose_control(data, control, path)
    if weights is not None:
        absent = [name for name in data.arms if name not in weights]
        if absent:
            raise CsvInputError(path, None, f"weights give no share for {', '.join(absent)}")
    covariate = data.has_covariate
    conversion = {name: sums.conversion_stats(covariate) for name, sums in data.arms.items()}
    main = summarize(conversion, control, weights=weights, options=options, correction=correction)
    report: dict[str, Any] = {"metric": "converted", **main.to_json()}
    segments = {
        segment: {name: sums.conversion_stats(covariate) for name, sums in arms.items()}
        for segment, arms in sorted(data.segments.items())
    }
    report["segments"] = [
        s.to_json()
        for s in summarize_segments(
            segments,
            control,
            weights=weights,
            options=options,
            correction=segment_correction,
            variants=list(data.arms),
        )
    ]
    report["value"] = None
    if "value" in data.columns:
        values = {name: sums.value_stats(covariate) for name, sums in data.arms.items()}
        value = summarize(values, control, weights=weights, options=options, correction=correction)
        report["value"] = {"metric": "value", **value.to_json()}
    report["settings"] = _settings_json(options, correction, segment_correction, weights)
    return report


def _choose_control(data: ExportData, control: str | None, path: Path) -> str:
    """The named control, else a variant called "control", else the first variant in the file."""
    if control is None:
        return "control" if "control" in data.arms else next(iter(data.arms))
    if control not in data.arms:
        known = ", ".join(data.arms)
        raise CsvInputError(path, None, f"control {control!r} is not a variant (found: {known})")
    return control


def _settings_json(
    options: AnalysisOptions,
    correction: Correction,
    segment_correction: Correction,
    weights: Mapping[str, float] | None,
) -> dict[str, Any]:
    prior = options.prior
    return {
        "alpha": options.alpha,
        "sequential_tuning": options.sequential_tuning,
        "prior": None if prior is None else {"mean": prior.mean, "variance": prior.variance},
        "inverse": options.inverse,
        "minimum_sample": {
            "users": options.minimum.users,
            "conversions": options.minimum.conversions,
        },
        "correction": correction,
        "segment_correction": segment_correction,
        "weights": dict(weights) if weights is not None else None,
    }


def parse_weights(text: str) -> dict[str, float]:
    """`control=50,b=50` into a mapping; ValueError with a readable message otherwise."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, number = part.partition("=")
        try:
            weight = float(number) if sep else math.nan
        except ValueError:
            weight = math.nan
        if not name.strip() or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"invalid weight {part!r}; expected NAME=NUMBER, e.g. control=50")
        weights[name.strip()] = weight
    if not weights:
        raise ValueError("no weights given; expected e.g. control=50,variant=50")
    return weights


def analyze_command(
    csv: Path,
    control: str | None,
    output_format: str,
    *,
    weights: str | None = None,
    correction: str = "none",
    minimum: MinimumSample = MinimumSample(),
) -> int:
    """Print the analysis of `csv` as JSON or a table; 0 on success, 1 on bad input."""
    if output_format not in ("json", "table"):
        print(f"error: --format must be json or table, got {output_format!r}", file=sys.stderr)
        return 1
    if correction not in CORRECTIONS:
        print(f"error: --correction must be one of {', '.join(CORRECTIONS)}", file=sys.stderr)
        return 1
    try:
        design = parse_weights(weights) if weights is not None else None
        options = AnalysisOptions(minimum=minimum)
        report = analyze_csv(
            csv, control, weights=design, options=options, correction=_correction(correction)
        )
    except (CsvInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if output_format == "json":
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        print(render_table(report))
    return 0


def _correction(name: str) -> Correction:
    for option in CORRECTIONS:
        if option == name:
            return option
    raise ValueError(f"unknown correction {name!r}")
