"""Plain-text rendering of an analysis report (the dict analyze_csv returns) for a terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = "—"


def render_table(report: Mapping[str, Any]) -> str:
    """Header, SRM line, arms, comparisons, then the value metric and the persona breakdown."""
    lines = [
        f"Metric: {report['metric']}   control: {report['control']}   users: {report['users']:,}",
        _srm_line(report),
        "",
        *_arms_table(report),
        "",
        *_comparisons_table(report),
    ]
    value = report.get("value")
    if value:
        lines += ["", f"Metric: {value['metric']} (mean per user)", *_arms_table(value), ""]
        lines += _comparisons_table(value)
    segments = report.get("segments") or []
    if segments:
        correction = report.get("settings", {}).get("segment_correction", "holm")
        lines += ["", f"Per segment (p adj: {correction} over all segment comparisons)"]
        lines += _segments_table(segments)
    return "\n".join(lines)


def render_metric(report: Mapping[str, Any]) -> list[str]:
    """The arms and comparisons of one metric section (any report with `variants` and
    `comparisons`), for front ends that lay out several metrics."""
    return [*_arms_table(report), "", *_comparisons_table(report)]


def render_segments(segments: Sequence[Mapping[str, Any]]) -> list[str]:
    """The per-segment comparison table."""
    return _segments_table(segments)


def _srm_line(report: Mapping[str, Any]) -> str:
    if report.get("srm_warning"):
        return f"WARNING: {report['srm_warning']}"
    p_value = report.get("srm_p_value")
    if p_value is None:
        return f"Sample ratio check: not computed ({report.get('srm_reason')})"
    return f"Sample ratio check: p = {p_value:.3g} (no mismatch)"


def _arms_table(report: Mapping[str, Any]) -> list[str]:
    rows = []
    for arm in report["variants"]:
        if "rate" in arm:
            rows.append(
                [arm["variant"], f"{arm['users']:,}", _num(arm["conversions"]), _pct(arm["rate"])]
            )
        else:
            rows.append(
                [arm["variant"], f"{arm['users']:,}", _num(arm["total"]), _num(arm["mean"])]
            )
    proportion = bool(report["variants"]) and "rate" in report["variants"][0]
    headers = (
        ["variant", "users", "conversions", "rate"]
        if proportion
        else ["variant", "users", "total", "mean"]
    )
    return _grid(headers, rows)


def _comparisons_table(report: Mapping[str, Any]) -> list[str]:
    comparisons = report["comparisons"]
    if not comparisons:
        return ["(no variant to compare with control)"]
    with_cuped = any("cuped_relative_lift" in c for c in comparisons)
    proportion = bool(report["variants"]) and "rate" in report["variants"][0]
    headers = ["vs control", "abs lift", "rel lift [95% CI]", "p", "p adj", "chance to win", "risk"]
    headers += ["sequential rel CI"] + (["CUPED rel lift [CI]"] if with_cuped else []) + ["note"]
    rows = []
    for c in comparisons:
        row = [
            c["variant"],
            _points(c["absolute_lift"]) if proportion else _num(c["absolute_lift"], signed=True),
            _lift(c["relative_lift"], c["ci_relative"]),
            _p(c["p_value"]),
            _p(c["p_value_adjusted"]),
            _pct(c["chance_to_win"]),
            _pct(c["risk"], digits=3),
            _interval(c["sequential_ci_relative"]),
        ]
        if with_cuped:
            row.append(_lift(c.get("cuped_relative_lift"), c.get("cuped_ci_relative")))
        rows.append([*row, _note(c["reason"])])
    return _grid(headers, rows)


def _segments_table(segments: Sequence[Mapping[str, Any]]) -> list[str]:
    headers = [
        "segment",
        "variant",
        "users (c/v)",
        "rel lift [95% CI]",
        "p",
        "p adj",
        "chance to win",
        "note",
    ]
    rows = []
    for segment in segments:
        users = {arm["variant"]: arm["users"] for arm in segment["variants"]}
        control_users = users.get(segment["control"], 0)
        for c in segment["comparisons"]:
            rows.append(
                [
                    segment["segment"],
                    c["variant"],
                    f"{control_users:,}/{users.get(c['variant'], 0):,}",
                    _lift(c["relative_lift"], c["ci_relative"]),
                    _p(c["p_value"]),
                    _p(c["p_value_adjusted"]),
                    _pct(c["chance_to_win"]),
                    _note(c["reason"]),
                ]
            )
    return _grid(headers, rows)


def _note(reason: str | None) -> str:
    """A reason code as words: `not_enough_data` reads "not enough data"."""
    return (reason or "").replace("_", " ")


def _grid(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def _pct(value: float | None, *, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return _MISSING
    return f"{value * 100:+.{digits}f}%" if signed else f"{value * 100:.{digits}f}%"


def _num(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return _MISSING
    if float(value).is_integer() and not signed:
        return f"{int(value):,}"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _points(value: float | None) -> str:
    """An absolute difference of rates in percentage points."""
    return _MISSING if value is None else f"{value * 100:+.2f}pp"


def _p(value: float | None) -> str:
    if value is None:
        return _MISSING
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _interval(pair: Sequence[float] | None) -> str:
    if pair is None:
        return _MISSING
    return f"[{_pct(pair[0], digits=1, signed=True)}, {_pct(pair[1], digits=1, signed=True)}]"


def _lift(value: float | None, pair: Sequence[float] | None) -> str:
    if value is None:
        return _MISSING
    return f"{_pct(value, signed=True)} {_interval(pair)}"
