"""The SVG chart helpers, from plain values: shapes, scales, escaping, degenerate input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from engine.web.charts import (
    Bar,
    Column,
    ForestRow,
    Point,
    Series,
    bar_chart,
    column_chart,
    forest_plot,
    funnel_chart,
    line_chart,
    nice_ticks,
    percent,
    plain,
    signed_percent,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML, or this raises


def widths(svg: ET.Element, cls: str) -> list[float]:
    return [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect") if r.get("class") == cls]


def test_bar_chart_scales_bars_to_the_largest_and_escapes_labels() -> None:
    svg = parse(bar_chart([Bar("<b>signup</b>", 200), Bar("login", 100, True)], title="t & u"))
    assert svg.find(f"{SVG}title").text == "t & u"  # type: ignore[union-attr]
    full, half = widths(svg, "bar")[0], widths(svg, "bar hi")[0]
    assert half == full / 2
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "<b>signup</b>" in texts  # escaped in the markup, intact once parsed
    assert "200" in texts


def test_bar_chart_of_zeros_draws_empty_bars() -> None:
    svg = parse(bar_chart([Bar("a", 0), Bar("b", 0)], title="none"))
    assert widths(svg, "bar") == [0.0, 0.0]


def test_funnel_writes_each_step_as_a_share_of_the_first() -> None:
    svg = parse(funnel_chart([Bar("signup", 400), Bar("activation", 100)], title="f"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "400 · 100.0%" in texts
    assert "100 · 25.0%" in texts


def test_column_chart_thins_labels_but_draws_every_column() -> None:
    columns = [Column(f"W{i}", i) for i in range(40)]
    svg = parse(column_chart(columns, title="weeks"))
    assert len(widths(svg, "bar")) == 40
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "tick" and t.text]
    assert 3 < len([x for x in labels if x.startswith("W")]) < 40


def test_line_chart_draws_a_band_where_points_have_intervals() -> None:
    points = [Point(i, 0.1 * i, 0.1 * i - 0.05, 0.1 * i + 0.05) for i in range(5)]
    svg = parse(line_chart([Series("b", points)], title="lift", fmt=signed_percent))
    polygons = list(svg.iter(f"{SVG}polygon"))
    assert len(polygons) == 1
    assert len(polygons[0].get("points", "").split()) == 10  # upper then lower edge
    assert len(list(svg.iter(f"{SVG}polyline"))) == 1


def test_line_chart_without_points_says_so() -> None:
    assert "no data yet" in str(line_chart([], title="empty"))


def test_forest_plot_marks_intervals_that_exclude_zero() -> None:
    rows = [
        ForestRow("a", 0.1, (0.02, 0.18), True),
        ForestRow("b", -0.01, (-0.05, 0.03)),
        ForestRow("c", None, None),
    ]
    markup = str(forest_plot(rows, title="lifts"))
    svg = parse(markup)
    classes = [c.get("class") for c in svg.iter(f"{SVG}circle")]
    assert classes == ["ci sig", "ci"]
    assert "not enough data" in markup
    assert "+10.0% [+2.0%, +18.0%]" in markup
    zero = next(line for line in svg.iter(f"{SVG}line") if line.get("class") == "zero")
    assert zero.get("x1") == zero.get("x2")


def test_numbers_are_placed_finite() -> None:
    markup = str(forest_plot([ForestRow("x", 0.0, (0.0, 0.0))], title="flat"))
    assert not re.search(r"nan|inf", markup, re.IGNORECASE)


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(0, 9, 4) == [0, 5, 10]
    assert nice_ticks(0, 7000, 4) == [0, 2000, 4000, 6000, 8000]
    assert nice_ticks(-0.13, 0.21, 4) == [-0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    assert nice_ticks(5, 5, 4)[0] <= 5 <= nice_ticks(5, 5, 4)[-1]
    assert nice_ticks(float("nan"), 1, 4) == [0.0, 1.0]


def test_formatters() -> None:
    assert plain(1234567) == "1,234,567"
    assert plain(2.5) == "2.50"
    assert percent(0.1234) == "12.3%"
    assert signed_percent(-0.05) == "-5.0%"
