"""`parcours experiments report KEY`, `plan KEY` and `export KEY --csv FILE`, live.

Both read PARCOURS_DATABASE_URL and the content directory like the server does, so the
report and the plan are what `GET /v1/experiments/{key}/results` and `/plan` answer, and
the export is the per-user
file behind it (engine.experiments.export). Exit 0 on success, 1 when the content is
invalid, the experiment unknown, the format wrong or the file cannot be written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog, load_live_catalog
from engine.clock import Clock, SystemClock
from engine.config import Settings
from engine.errors import EngineError
from engine.experiments.export import write_export
from engine.experiments.plan import experiment_plan
from engine.experiments.service import experiment_results, find_experiment
from engine.experiments.table import render_metric, render_segments
from engine.store.db import create_db_engine

T = TypeVar("T")


def report_command(
    key: str,
    output_format: str = "table",
    *,
    include_in_progress: bool = False,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> int:
    """Print experiment `key`'s results as a table or JSON; the exit code."""
    if output_format not in ("table", "json"):
        print(f"error: --format must be table or json, got {output_format!r}", file=sys.stderr)
        return 1
    now = (clock or SystemClock()).now()
    found = _with_live_data(
        settings or Settings(),
        lambda conn, catalog: experiment_results(
            conn, catalog, key, now, include_in_progress=include_in_progress
        ),
    )
    if found is None:
        return 1
    report = found.model_dump(mode="json", exclude_unset=True)
    print(json.dumps(report, indent=2) if output_format == "json" else render_report(report))
    return 0


def plan_command(
    key: str,
    output_format: str = "table",
    *,
    lift: float = 0.1,
    power: float = 0.8,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> int:
    """Print experiment `key`'s plan as a table or JSON; the exit code."""
    problem = _plan_problem(output_format, lift, power)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    now = (clock or SystemClock()).now()
    plan = _with_live_data(
        settings or Settings(),
        lambda conn, catalog: experiment_plan(conn, catalog, key, now, lift=lift, power=power),
    )
    if plan is None:
        return 1
    document = plan.model_dump(mode="json")
    print(json.dumps(document, indent=2) if output_format == "json" else render_plan(document))
    return 0


def _plan_problem(output_format: str, lift: float, power: float) -> str | None:
    """The API's bounds on the plan's options, as one message (None when they are fine)."""
    if output_format not in ("table", "json"):
        return f"--format must be table or json, got {output_format!r}"
    if not (-1 < lift <= 100):  # also refuses NaN
        return f"--lift must be above -1 and at most 100 (0.1 = +10%), got {lift}"
    if not (0.5 <= power < 1):
        return f"--power must be at least 0.5 and below 1, got {power}"
    return None


def render_plan(plan: Mapping[str, Any]) -> str:
    """The plan for a terminal: traffic, baseline, then one block per variant."""
    baseline = plan["baseline"]
    shown = "none yet" if baseline is None else _value(baseline, plan["measure"])
    lines = [
        f"Plan: {plan['experiment']}   metric: {plan['metric']}   test: relative lift, "
        f"alpha {plan['alpha']:g}, power {plan['power']:.0%}",
        f"Traffic: {plan['daily_exposures']:,.1f} exposures/day over {plan['running_days']:.1f}"
        f" days ({plan['exposed']:,} exposed, {plan['counted']:,} counted)   baseline: {shown}",
        f"A lift is read {plan['window_days']:g} days after the last exposure it counts.",
    ]
    for variant in plan["variants"]:
        lines += ["", f"{variant['variant']} against control"]
        if variant["mde_now"] is not None:
            lines.append(f"  detectable now: {_lift(variant['mde_now'])}")
        for horizon in variant["horizons"]:
            lines.append(f"  after {horizon['days']} days: {_lift(horizon['mde'])}")
        days = variant["days_needed"]
        target = f"{plan['lift']:+.0%}"
        if days is not None:
            left = variant["days_remaining"]
            lines.append(f"  days of exposure for {target}: {days} ({left} to go)")
        if variant["reason"]:
            lines.append(f"  note: {variant['reason'].replace('_', ' ')}")
    return "\n".join(lines)


def _lift(value: float | None) -> str:
    return "not detectable" if value is None else f"{value:+.1%}"


def _value(value: float, measure: str) -> str:
    return f"{value:.1%}" if measure == "proportion" else f"{value:,.3g}"


def export_command(
    key: str,
    csv: Path,
    *,
    include_in_progress: bool = False,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> int:
    """Write experiment `key`'s per-user file to `csv`; the exit code."""
    now = (clock or SystemClock()).now()

    def export(conn: Connection, catalog: Catalog) -> int:
        entry = find_experiment(catalog, key)
        try:
            with csv.open("w", newline="", encoding="utf-8") as out:
                return write_export(conn, entry, out, now, include_in_progress=include_in_progress)
        except OSError as exc:
            raise EngineError(f"cannot write {csv}: {exc.strerror or exc}") from exc

    rows = _with_live_data(settings or Settings(), export)
    if rows is None:
        return 1
    print(f"wrote {rows:,} profiles of {key} to {csv}")
    return 0


def _with_live_data(settings: Settings, work: Callable[[Connection, Catalog], T]) -> T | None:
    """`work` on the live content and database; None once the problem is printed."""
    catalog, problems = load_live_catalog(settings.content_dir, settings.default_timezone)
    if catalog is None:
        print(f"error: content in {settings.content_dir} is invalid:", file=sys.stderr)
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        return None
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return work(conn, catalog)
    except EngineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return None
    finally:
        engine.dispose()


def render_report(report: Mapping[str, Any]) -> str:
    """The whole report for a terminal: exposures, primary metric, personas, the rest."""
    holdout = "  (control receives nothing)" if report["holdout"] else ""
    flow = "global holdout" if report["global_holdout"] else f"flow: {report['flow']}"
    lines = [
        f"Experiment: {report['experiment']}   {flow}   exposed: {report['exposed']:,}{holdout}",
        _srm_line(report["exposure_srm"]),
        _mixed_line(report["health"]),
        "",
        *_section(report),
    ]
    if report["segments"]:
        lines += ["", "Per persona at exposure (p adj: holm over all persona comparisons)"]
        lines += render_segments(report["segments"])
    for section in [*report["secondary"], *report["guardrails"]]:
        lines += ["", *_section(section)]
    return "\n".join(lines)


def _section(metric: Mapping[str, Any]) -> Sequence[str]:
    measure = "rate" if metric["measure"] == "proportion" else "mean per user"
    lower = ", lower is better" if metric["better"] == "lower" else ""
    window = " to ".join(metric["window"])
    title = f"{metric['role'].capitalize()} metric: {metric['metric']} ({measure}{lower}; "
    lines = [title + f"window {window} after exposure; {metric['users']:,} users counted)"]
    if metric["alerts"]:
        lines.append(f"ALERT: worse than control: {', '.join(metric['alerts'])}")
    return [*lines, *render_metric(metric)]


def _mixed_line(health: Mapping[str, Any]) -> str:
    if health["mixed_warning"]:
        return f"WARNING: {health['mixed_warning']}"
    count = health["mixed_exposures"]
    return f"Profiles exposed to more than one variant: {count:,} ({health['mixed_rule']})"


def _srm_line(srm: Mapping[str, Any]) -> str:
    if srm["warning"]:
        return f"WARNING: {srm['warning']}"
    if srm["p_value"] is None:
        return f"Sample ratio check: not computed ({srm['reason']})"
    return f"Sample ratio check over exposures: p = {srm['p_value']:.3g} (no mismatch)"
