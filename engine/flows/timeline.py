"""A readable timeline of one profile's simulated journey (for `parcours simulate`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def offset(at: datetime, start: datetime) -> str:
    """`+2d3h`, `+45m`, `+0m`: time since the start of the simulation."""
    delta = at - start
    days, rest = divmod(int(delta.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "+" + ("".join(parts) or "0m")


def timeline(
    start: datetime,
    stages: Mapping[str, datetime],
    runs: list[dict[str, Any]],
    subjects: Mapping[int, str],
    end: datetime | None = None,
) -> list[str]:
    """Stage entries, flow entries and ends, every step's outcome and delivery, in time order;
    with `end`, a line marks it, and the timers after it are shown as pending."""
    lines: list[tuple[datetime, int, str]] = []
    if end is not None:
        lines.append((end, 3, "end        of the simulation (later timers are pending)"))
    for stage, at in stages.items():
        lines.append((at, 0, f"stage      {stage} entered"))
    for run in runs:
        by_step = {d["step"]: d for d in run["deliveries"]}
        for entry in run["steps"]:
            text = _entry(run["flow"], entry, by_step, subjects, start)
            lines.append((entry["at"], 1, text))
        for timer in run["timers"]:
            pending = f"timer      {run['flow']}: {timer['step']} pending"
            lines.append((timer["due_at"], 4, pending))
    return [f"{offset(at, start):>9}  {text}" for at, _, text in sorted(lines, key=_order)]


def _order(line: tuple[datetime, int, str]) -> tuple[datetime, int]:
    return line[0], line[1]


def _entry(
    flow: str,
    entry: Mapping[str, Any],
    by_step: Mapping[str, Any],
    subjects: Mapping[int, str],
    start: datetime,
) -> str:
    kind, outcome, detail = entry["kind"], entry["outcome"], entry["detail"] or {}
    if entry["step"] is None:
        reason = f" ({detail['reason']})" if "reason" in detail else ""
        return f"flow       {flow}: {outcome}{reason}"
    delivery = by_step.get(entry["step"])
    if delivery is not None and kind == delivery["channel"]:
        subject = subjects.get(delivery["id"])
        shown = f' "{subject}"' if subject else ""
        why = f": {delivery['reason']}" if delivery["reason"] else ""
        return f"{kind:<10} {flow}: {delivery['content']}{shown} [{delivery['status']}{why}]"
    shown_detail = dict(detail)
    if "until" in shown_detail:
        shown_detail["until"] = offset(datetime.fromisoformat(shown_detail["until"]), start)
    extra = "; ".join(f"{k} {v}" for k, v in shown_detail.items())
    return f"{kind:<10} {flow}: {entry['step']} {outcome}" + (f" ({extra})" if extra else "")
