"""The charts of each page, from its page data: which numbers go into which chart.

Kept apart from the page data (services) and from the shapes (charts) so that templates only
place ready markup, and each figure is checked by rendering it from plain page data.
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

from engine.experiments.schemas import ComparisonPublic, MetricResults
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
    percent,
)
from engine.web.experiment_service import ExperimentPage
from engine.web.flow_diagram import flow_diagram
from engine.web.flow_service import FlowPage
from engine.web.service import Funnel, Overview
from engine.web.summaries import pain_points


def overview_figures(page: Overview) -> dict[str, Markup]:
    return {
        "stages": bar_chart(
            [Bar(stage, n) for stage, n in page.stages], title="Profiles per stage (all time)"
        ),
        "signups": column_chart(
            [Column(week.strftime("%d %b"), n) for week, n in page.signups],
            title=f"Profiles entering {page.anchor} per week",
        ),
    }


def funnel_figures(page: Funnel) -> dict[str, Markup]:
    worst = pain_points(page.transitions)
    bars = [Bar(stage, n, highlight=stage in worst) for stage, n in page.steps]
    return {"funnel": funnel_chart(bars, title="Stage funnel")}


def flow_figures(page: FlowPage) -> dict[str, Markup]:
    reached = [
        Bar(("· " * row.depth) + row.label, row.entered)
        for row in page.steps
        if row.entered or row.depth == 0
    ]
    return {
        "diagram": flow_diagram(page),
        "steps": bar_chart(reached, title=f"Runs reaching each step of {page.flow}"),
    }


def experiment_figures(page: ExperimentPage) -> dict[str, Markup]:
    results = page.results
    rates = [
        Bar(arm.variant, arm.rate if arm.rate is not None else (arm.mean or 0.0))
        for arm in results.variants
    ]
    fmt = percent if results.measure == "proportion" else None
    figures = {
        "rates": bar_chart(rates, title=f"{results.metric} per variant", fmt=fmt or _mean),
        "lifts": forest_plot(_lift_rows(results), title="Relative lift over control, 95% CI"),
        "segments": forest_plot(
            [
                _forest(f"{segment.segment} · {c.variant}", c)
                for segment in results.segments
                for c in segment.comparisons
            ],
            title="Relative lift per persona at exposure",
        ),
    }
    series = [
        Series(
            variant,
            [Point(p.at.timestamp(), p.lift, p.low, p.high) for p in points if p.lift is not None],
        )
        for variant, points in page.cumulative.items()
    ]
    figures["cumulative"] = line_chart(
        [s for s in series if s.points],
        title="Cumulative relative lift with 95% CI, by exposure date",
        x_labels=_day,
        fmt=lambda v: f"{v * 100:+.0f}%",
        width=860,
    )
    return figures


def _lift_rows(results: MetricResults) -> list[ForestRow]:
    rows = [_forest(f"{results.metric} · {c.variant}", c) for c in results.comparisons]
    others: list[MetricResults] = [
        *getattr(results, "secondary", []),
        *getattr(results, "guardrails", []),
    ]
    for metric in others:
        rows += [_forest(f"{metric.metric} · {c.variant}", c) for c in metric.comparisons]
    return rows


def _forest(label: str, c: ComparisonPublic) -> ForestRow:
    if c.reason == "not_enough_data":  # drawn as "not enough data", never as a lift
        return ForestRow(label, None, None)
    interval = (c.ci_relative[0], c.ci_relative[1]) if c.ci_relative else None
    significant = interval is not None and (interval[0] > 0 or interval[1] < 0)
    return ForestRow(label, c.relative_lift, interval, significant)


def _mean(value: float) -> str:
    return f"{value:,.2f}"


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%d %b")
