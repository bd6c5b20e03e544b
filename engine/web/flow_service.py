"""Page data of a flow (per-step counts and errors) and of a profile (its journey timeline).

A step's numbers join what the interpreter decided (journey entries) with what the channels
did (deliveries), both counted by SQL per (step, outcome, reason):

- entered: runs that reached the step (a wait's "timed out" or "target reached" is a second
  entry of the same visit, so it is not counted again);
- delivered, skipped with each reason, failed with each reason, still in flight;
- converted: runs that reached the step and later reached the flow's goal;
- waiting: runs parked at the step now (their timer), not every run that ever waited there.

A run converts when the flow's goal holds within the goal window after its entry (the
`goal`'s `within`), while its steps run (the goal ends it, status `converted`) or after
they ended (`engine.flows.service.CONVERSION`); the page and the catalog API say so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping

from engine.catalog.catalog import Catalog
from engine.catalog.definitions import Flow
from engine.catalog.internal_events import EMAIL_OPENED
from engine.errors import NotFound
from engine.flows.journey import journey
from engine.flows.service import CONVERSION
from engine.web import flow_repository as repo
from engine.web.summaries import flow_steps

CHANNELS = ("email", "tutorial", "tip", "webhook")
SECOND_VISIT = ("timed out", "target reached")
EVENT_LIMIT = 200


@dataclass
class StepRow:
    key: str
    kind: str
    label: str
    depth: int
    entered: int = 0
    converted: int = 0
    delivered: int = 0
    in_flight: int = 0
    waiting: int = 0  # runs waiting at the step now
    opened: int = 0  # emails: deliveries opened (email_opened), clicked (email_clicked)
    clicked: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # branch taken, wait ended, ...


@dataclass(frozen=True)
class FlowPage:
    flow: str
    definition: Flow
    description: str
    trigger: str
    audience: list[str]
    goal: str | None
    experiment: str | None
    runs: Counter[str]
    converted: int  # runs that converted, whatever their status
    conversion: str | None  # what `converted` counts; None without a goal
    ended: list[tuple[str, str, int]]  # status, reason, runs (skipped, exited, failed)
    steps: list[StepRow]
    failures: list[RowMapping]
    days: int


def flow_page(
    conn: Connection, catalog: Catalog, flow_name: str, since: datetime | None, days: int
) -> FlowPage:
    """Per-step counts of one flow's runs entered in the period, and its recent failures."""
    flow = catalog.flows.get(flow_name)
    if flow is None:
        raise NotFound(f"no flow {flow_name!r} in the live content")
    rows = {
        line.key: StepRow(line.key, line.kind, line.label, line.depth) for line in flow_steps(flow)
    }
    for o in repo.step_outcomes(conn, flow_name, since):
        row = rows.setdefault(o.step, StepRow(o.step, o.kind, "(not in the current version)", 0))
        _count_entry(row, o)
    for d in repo.delivery_outcomes(conn, flow_name, since):
        row = rows.setdefault(d.step, StepRow(d.step, d.channel, "(not in the current version)", 0))
        _count_delivery(row, d)
    for step, n in repo.waiting_now(conn, flow_name, since).items():
        if step in rows:
            rows[step].waiting = n
    for (step, name), n in repo.email_engagement(conn, flow_name, since).items():
        if step in rows:
            setattr(rows[step], "opened" if name == EMAIL_OPENED else "clicked", n)
    steps = _variant_entries(list(rows.values()))
    runs: Counter[str] = Counter()
    ended, converted = [], 0
    for status, reason, n, k in repo.run_outcomes(conn, flow_name, since):
        runs[status] += n
        converted += k
        if reason is not None:
            ended.append((status, reason, n))
    trigger = flow.trigger
    return FlowPage(
        flow=flow_name,
        definition=flow,
        description=flow.description,
        trigger=f"{trigger.kind} {getattr(trigger, trigger.kind)}",
        audience=list(flow.audience),
        goal=flow.goal.describe() if flow.goal else None,
        experiment=flow.experiment.key if flow.experiment else None,
        runs=runs,
        converted=converted,
        conversion=CONVERSION if flow.goal else None,
        ended=sorted(ended, key=lambda e: -e[2]),
        steps=steps,
        failures=repo.recent_failures(conn, flow_name),
        days=days,
    )


def _variant_entries(rows: list[StepRow]) -> list[StepRow]:
    """A `variant` step notes only the runs it skips; the runs it lets in show up at its
    first child, so the runs that reached it are both together."""
    for index, row in enumerate(rows):
        child = rows[index + 1] if index + 1 < len(rows) else None
        if row.kind == "variant" and child is not None and child.depth == row.depth + 1:
            row.entered = sum(row.skipped.values()) + child.entered
            row.converted += child.converted
    return rows


def _count_entry(row: StepRow, o: repo.StepOutcome) -> None:
    if o.outcome not in SECOND_VISIT:
        row.entered += o.entries
        row.converted += o.converted
    if o.outcome == "skipped" and (o.kind not in CHANNELS or o.reason == "condition false"):
        row.skipped[o.reason or "skipped"] += o.entries
    elif o.kind not in CHANNELS and o.outcome not in ("skipped", "waiting"):
        row.outcomes[o.outcome] += o.entries


def _count_delivery(row: StepRow, d: repo.DeliveryOutcome) -> None:
    if d.status == "sent":
        row.delivered += d.count
    elif d.status == "skipped":
        row.skipped[d.reason or "skipped"] += d.count
    elif d.status == "failed":
        row.failed[d.reason or "failed"] += d.count
    if d.status in repo.IN_FLIGHT:
        row.in_flight += d.count


# -- profile ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One line of a profile's timeline."""

    at: datetime
    kind: str  # event | stage | segment | experiment | flow | step | delivery | timer
    title: str
    detail: str = ""
    tone: str = ""  # "good", "bad", "muted" or "" (CSS)


@dataclass(frozen=True)
class ProfilePage:
    profile: RowMapping
    timeline: list[Moment]
    stages: list[RowMapping]
    segments: list[RowMapping]
    runs: list[dict[str, Any]]
    events_shown: int
    events_total: int


def profile_exists(conn: Connection, user_id: str) -> bool:
    return repo.find_profile(conn, user_id) is not None


def profile_page(conn: Connection, user_id: str) -> ProfilePage:
    """Everything that happened to one profile, oldest first, with the reasons."""
    profile = repo.find_profile(conn, user_id)
    if profile is None:
        raise NotFound(f"no profile with user id {user_id!r}")
    pid = int(profile["id"])
    facts = repo.profile_facts(conn, pid, EVENT_LIMIT)
    runs = journey(conn, pid)
    moments = [
        *(
            _event(e)
            for e in facts["events"]
            if not (e["type"] == "internal" and e["name"] in SHOWN_ELSEWHERE)
        ),
        *(
            Moment(s["entered_at"], "stage", f"entered stage {s['stage']}", tone="good")
            for s in facts["stages"]
        ),
        *_segments(facts["segments"]),
        *(
            Moment(
                a["exposed_at"],
                "experiment",
                f"exposed to {a['experiment']}",
                f"variant {a['variant']}",
            )
            for a in facts["assignments"]
        ),
        *(m for run in runs for m in _run(run)),
    ]
    moments.sort(key=lambda m: m.at)
    return ProfilePage(
        profile=profile,
        timeline=moments,
        stages=facts["stages"],
        segments=facts["segments"],
        runs=runs,
        events_shown=len(facts["events"]),
        events_total=repo.count_events(conn, pid),
    )


SHOWN_ELSEWHERE = {"stage_entered", "segment_entered", "segment_exited", "experiment_exposed"}
"""Internal events the timeline already shows as stage, persona and experiment lines."""


def _event(e: RowMapping) -> Moment:
    name = e["name"] or ""
    props = e["properties"] or {}
    detail = ", ".join(f"{k}={v}" for k, v in list(props.items())[:4])
    return Moment(
        e["timestamp"],
        "event",
        f"{e['type']} {name}".strip(),
        detail,
        "muted" if e["type"] == "internal" else "",
    )


def _segments(rows: list[RowMapping]) -> list[Moment]:
    out = [Moment(s["entered_at"], "segment", f"joined persona {s['segment']}") for s in rows]
    out += [
        Moment(s["exited_at"], "segment", f"left persona {s['segment']}", tone="muted")
        for s in rows
        if s["exited_at"] is not None
    ]
    return out


def _run(run: dict[str, Any]) -> list[Moment]:
    """A run's start and end, its steps (deliveries replace their own notes), its timers."""
    flow, reason = run["flow"], run["end_reason"] or ""
    if run["status"] == "skipped":
        return [Moment(run["entered_at"], "flow", f"did not enter {flow}", reason, "muted")]
    variant = f"variant {run['variant']}" if run["variant"] else ""
    out = [Moment(run["entered_at"], "flow", f"entered flow {flow}", variant)]
    out += _steps(run)
    out += [
        Moment(t["due_at"], "timer", f"{flow} waits at {t['step']}", "pending timer", "muted")
        for t in run["timers"]
    ]
    if run["ended_at"] is not None:
        tone = "good" if run["status"] == "converted" else ""
        out.append(Moment(run["ended_at"], "flow", f"{flow} {run['status']}", reason, tone))
    if run["converted_at"] is not None and run["status"] != "converted":
        title = f"{flow} goal reached"
        out.append(Moment(run["converted_at"], "flow", title, "after the run ended", "good"))
    return out


def _steps(run: dict[str, Any]) -> list[Moment]:
    """Step notes (skips with their reason, branches, waits) and deliveries with status."""
    out = []
    for step in run["steps"]:
        if step["step"] is None or (step["kind"] in CHANNELS and step["outcome"] != "skipped"):
            continue
        why = (step["detail"] or {}).get("reason", "")
        tone = "muted" if step["outcome"] == "skipped" else ""
        title = f"{run['flow']} · {step['step']}: {step['kind']} {step['outcome']}"
        out.append(Moment(step["at"], "step", title, why, tone))
    decided = {s["step"]: s["at"] for s in run["steps"] if s["kind"] in CHANNELS}
    for d in run["deliveries"]:
        tone = {"sent": "good", "failed": "bad", "skipped": "muted"}.get(d["status"], "")
        at = d["sent_at"] or decided.get(d["step"]) or run["entered_at"]
        title = f"{d['channel']} {d['content']}: {d['status']}"
        out.append(Moment(at, "delivery", title, d["reason"] or "", tone))
    return out
