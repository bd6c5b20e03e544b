"""What the demo prints at the end, and its self-contained HTML report.

Everything is read back from the engine's database with SQL aggregates and the experiments
service, the same numbers the API and dashboard show.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from html import escape
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, func, select

from engine.audience.repository import stage_entries
from engine.catalog.catalog import Catalog
from engine.catalog.internal_events import EMAIL_CLICKED, EMAIL_OPENED
from engine.experiments.schemas import ExperimentResults
from engine.experiments.service import experiment_results, known_experiments
from engine.flows.repository import deliveries, runs
from engine.ingest.repository import profiles
from engine.web.flow_repository import email_engagement

NO_PERSONA = "(no persona)"


@dataclass(frozen=True)
class FlowSummary:
    """Which flow helps: its entrants, how many reached its goal in time, what it sent."""

    flow: str
    goal: str | None
    entered: int
    converted: int  # runs whose goal held within its window, during or after the steps
    deliveries: dict[str, int]  # status -> deliveries
    emails_sent: int
    opened: int  # emails opened at least once
    clicked: int  # emails with at least one click


@dataclass(frozen=True)
class Summary:
    stages: list[str]
    personas: dict[str, int]  # persona -> profiles
    funnel: dict[str, dict[str, int]]  # persona -> stage -> profiles that entered it
    channels: dict[str, dict[str, int]]  # channel -> status -> deliveries
    experiments: list[ExperimentResults]
    flows: list[FlowSummary]


def summarize(conn: Connection, catalog: Catalog, now: datetime) -> Summary:
    persona = func.coalesce(profiles.c.persona, NO_PERSONA)
    personas: dict[str, int] = dict(
        conn.execute(select(persona, func.count()).group_by(persona)).all()
    )
    funnel: dict[str, dict[str, int]] = {p: {} for p in personas}
    rows = conn.execute(
        select(persona, stage_entries.c.stage, func.count())
        .join(profiles, profiles.c.id == stage_entries.c.profile_id)
        .group_by(persona, stage_entries.c.stage)
    )
    for name, stage, count in rows:
        funnel[name][stage] = count
    channels: dict[str, dict[str, int]] = {}
    for channel, status, count in conn.execute(
        select(deliveries.c.channel, deliveries.c.status, func.count()).group_by(
            deliveries.c.channel, deliveries.c.status
        )
    ):
        channels.setdefault(channel, {})[status] = count
    results = [experiment_results(conn, catalog, key, now) for key in known_experiments(catalog)]
    stages = [s.stage for s in catalog.stages]
    return Summary(stages, personas, funnel, channels, results, _flows(conn, catalog))


def _flows(conn: Connection, catalog: Catalog) -> list[FlowSummary]:
    entered: dict[str, int] = dict(
        conn.execute(select(runs.c.flow, func.count()).group_by(runs.c.flow)).all()
    )
    converted: dict[str, int] = dict(
        conn.execute(
            select(runs.c.flow, func.count())
            .where(runs.c.converted_at.is_not(None))
            .group_by(runs.c.flow)
        ).all()
    )
    sent: dict[str, dict[str, int]] = {}
    emails: dict[str, int] = {}
    for flow, channel, status, count in conn.execute(
        select(deliveries.c.flow, deliveries.c.channel, deliveries.c.status, func.count()).group_by(
            deliveries.c.flow, deliveries.c.channel, deliveries.c.status
        )
    ):
        by_status = sent.setdefault(flow, {})
        by_status[status] = by_status.get(status, 0) + count
        if channel == "email" and status == "sent":
            emails[flow] = count
    summaries = []
    for name, flow in sorted(catalog.flows.items()):
        engaged = _engaged(conn, name)
        summaries.append(
            FlowSummary(
                flow=name,
                goal=flow.goal.describe() if flow.goal else None,
                entered=entered.get(name, 0),
                converted=converted.get(name, 0),
                deliveries=sent.get(name, {}),
                emails_sent=emails.get(name, 0),
                opened=engaged[EMAIL_OPENED],
                clicked=engaged[EMAIL_CLICKED],
            )
        )
    return summaries


def _engaged(conn: Connection, flow: str) -> Counter[str]:
    """The flow's emails opened and clicked at least once, as its dashboard page counts them
    per step (a delivery belongs to one step, so the steps add up)."""
    counts: Counter[str] = Counter()
    for (_, name), n in email_engagement(conn, flow, None).items():
        counts[name] += n
    return counts


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def _interval(values: list[float] | None) -> str:
    return "n/a" if not values else f"[{values[0]:+.1%}, {values[1]:+.1%}]"


def experiment_lines(result: ExperimentResults) -> list[str]:
    lines = [
        f"experiment {result.experiment} (flow {result.flow}): {result.users:,} profiles with a "
        f"closed {result.metric} window, control {result.control}"
    ]
    for arm in result.variants:
        lines.append(f"  {arm.variant:<16} {arm.users:>6,} users  rate {arm.rate or 0:.1%}")
    for c in result.comparisons:
        p = "n/a" if c.p_value is None else f"{c.p_value:.4f}"
        win = "n/a" if c.chance_to_win is None else f"{c.chance_to_win:.1%}"
        lines.append(
            f"  {c.variant} vs {result.control}: lift {_pct(c.relative_lift)} "
            f"95% CI {_interval(c.ci_relative)}, p {p}, chance to win {win}"
        )
    srm = result.srm_p_value
    check = (
        "n/a" if srm is None else f"p {srm:.3f}" + (" MISMATCH" if result.srm_warning else " ok")
    )
    lines.append(f"  sample ratio check: {check}")
    return lines


def render_text(summary: Summary) -> str:
    header = f"{'persona':<20}{'profiles':>9}" + "".join(f"{s[:11]:>12}" for s in summary.stages)
    lines = ["Stage funnel per persona (profiles that entered each stage)", header]
    for persona, total in sorted(summary.personas.items(), key=lambda kv: -kv[1]):
        cells = "".join(f"{summary.funnel[persona].get(s, 0):>12,}" for s in summary.stages)
        lines.append(f"{persona:<20}{total:>9,}{cells}")
    lines += ["", *stall_lines(summary), "", *flow_lines(summary)]
    lines += ["", "Deliveries per channel"]
    for channel, statuses in sorted(summary.channels.items()):
        parts = ", ".join(f"{status} {count:,}" for status, count in sorted(statuses.items()))
        lines.append(f"  {channel:<9} {parts}")
    for result in summary.experiments:
        lines += ["", *experiment_lines(result)]
    return "\n".join(lines)


def continuing(summary: Summary, persona: str) -> list[tuple[str, str, float | None]]:
    """(stage, next stage, share of the stage's profiles that entered the next one)."""
    counts = summary.funnel[persona]
    return [
        (a, b, counts.get(b, 0) / counts[a] if counts.get(a) else None)
        for a, b in pairwise(summary.stages)
    ]


def stall_lines(summary: Summary) -> list[str]:
    """Where users stall: stage-to-stage conversion per persona, and its biggest drop."""
    header = f"{'persona':<20}" + "".join(f"{'-> ' + b:>15}" for b in summary.stages[1:])
    lines = ["Where users stall (share of each stage's profiles that reached the next)", header]
    drops = []
    for persona, _ in sorted(summary.personas.items(), key=lambda kv: -kv[1]):
        steps = continuing(summary, persona)
        lines.append(f"{persona:<20}" + "".join(f"{_share(r):>15}" for _, _, r in steps))
        known = [(r, a, b) for a, b, r in steps if r is not None]
        if known:
            rate, a, b = min(known)
            drops.append(f"  {persona}: {a} -> {b} ({rate:.0%} continue)")
    return [*lines, "Biggest drop per persona:", *drops]


def flow_lines(summary: Summary) -> list[str]:
    """Which flow helps: entrants, goal conversions, and what its emails got."""
    lines = [
        "Flows (converted: the goal held within its window, during or after the steps)",
        f"{'flow':<22}{'entered':>9}{'converted':>16}{'emails':>8}{'opened':>13}{'clicked':>13}",
    ]
    for f in summary.flows:
        converted = f"{f.converted:,} {_share(_ratio(f.converted, f.entered))}" if f.goal else "-"
        lines.append(
            f"{f.flow:<22}{f.entered:>9,}{converted:>16}{f.emails_sent:>8,}"
            f"{f'{f.opened:,} ' + _share(_ratio(f.opened, f.emails_sent)):>13}"
            f"{f'{f.clicked:,} ' + _share(_ratio(f.clicked, f.emails_sent)):>13}"
        )
    for f in summary.flows:
        if f.deliveries:
            parts = ", ".join(f"{status} {n:,}" for status, n in sorted(f.deliveries.items()))
            lines.append(f"  {f.flow}: goal {f.goal or '(none)'}; deliveries {parts}")
    return lines


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _share(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


def render_html(summary: Summary, facts: dict[str, Any]) -> str:
    """One file, no external assets: tables and inline SVG bars."""
    stats = "".join(f"<li><b>{escape(str(v))}</b> {escape(k)}</li>" for k, v in facts.items())
    funnel = _funnel_html(summary)
    channels = "".join(
        f"<tr><td>{escape(c)}</td>"
        + "".join(f"<td>{escape(s)}: {n:,}</td>" for s, n in sorted(st.items()))
        + "</tr>"
        for c, st in sorted(summary.channels.items())
    )
    experiments = "".join(
        f"<pre>{escape(chr(10).join(experiment_lines(r)))}</pre>" for r in summary.experiments
    )
    stalls = f"<pre>{escape(chr(10).join(stall_lines(summary)))}</pre>"
    flows = f"<pre>{escape(chr(10).join(flow_lines(summary)))}</pre>"
    return _PAGE.format(
        stats=stats,
        funnel=funnel,
        stalls=stalls,
        flows=flows,
        channels=channels,
        experiments=experiments,
    )


def _funnel_html(summary: Summary) -> str:
    blocks = []
    for persona, total in sorted(summary.personas.items(), key=lambda kv: -kv[1]):
        bars = []
        for i, stage in enumerate(summary.stages):
            count = summary.funnel[persona].get(stage, 0)
            width = 0 if not total else 300 * count / total
            bars.append(
                f'<text x="0" y="{i * 22 + 15}">{escape(stage)}</text>'
                f'<rect x="110" y="{i * 22 + 3}" width="{width:.0f}" height="16" fill="#4f46e5"/>'
                f'<text x="{115 + width:.0f}" y="{i * 22 + 15}">{count:,}</text>'
            )
        height = 22 * len(summary.stages)
        blocks.append(
            f"<h3>{escape(persona)} ({total:,})</h3>"
            f'<svg width="480" height="{height}" font-size="12">{"".join(bars)}</svg>'
        )
    return "".join(blocks)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Parcours demo report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#111827}}
h1{{font-size:1.6em}} td{{padding:.2em 1em}} pre{{background:#f3f4f6;padding:1em}}
ul{{list-style:none;padding:0;display:flex;gap:2em}}</style></head><body>
<h1>Parcours demo: 30 days of onboarding</h1><ul>{stats}</ul>
<h2>Stage funnel per persona</h2>{funnel}
<h2>Where users stall</h2>{stalls}
<h2>Which flow helps</h2>{flows}
<h2>Deliveries per channel</h2><table>{channels}</table>
<h2>Experiments</h2>{experiments}
</body></html>"""
