"""The dashboard's SQL aggregates against independent counts in Python, on both backends.

Each test reads the raw rows (profiles, stage entries, runs, journey entries, deliveries,
assignments) with plain SELECTs and counts them in Python the obvious way; the service's
numbers, computed by GROUP BY in the database, must be identical.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.experiments.service import experiment_results
from engine.web import flow_service, service
from engine.web.experiment_service import experiment_page
from engine.web.sql import NO_PERSONA

ANCHOR = "signup"


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).mappings())


def at(value: Any) -> datetime:
    """A timestamp as the driver returns it (text on SQLite), comparable across backends."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def stage_times(engine: Engine) -> dict[int, dict[str, datetime]]:
    out: dict[int, dict[str, datetime]] = defaultdict(dict)
    for r in rows(engine, "SELECT profile_id, stage, entered_at FROM stage_entries"):
        out[r["profile_id"]][r["stage"]] = at(r["entered_at"])
    return out


def test_overview_counts(populated: Engine, catalog: Catalog, clock: FrozenClock) -> None:
    with populated.connect() as conn:
        page = service.overview(conn, catalog, clock.now(), 0)
    assert page.totals.profiles == len(rows(populated, "SELECT id FROM profiles")) == 40
    statuses = Counter(r["status"] for r in rows(populated, "SELECT status FROM deliveries"))
    assert page.totals.deliveries == dict(statuses)
    assert statuses["failed"] > 0
    assert statuses["skipped"] > 0
    runs = rows(populated, "SELECT flow, status, converted_at FROM flow_runs")
    assert page.totals.open_runs == sum(r["status"] in ("active", "waiting") for r in runs) > 0
    assert page.totals.pending_timers == len(rows(populated, "SELECT id FROM timers")) > 0
    for summary in page.flows:
        mine = [r for r in runs if r["flow"] == summary.flow]
        assert summary.runs == len(mine)
        assert summary.converted == sum(r["converted_at"] is not None for r in mine)
        assert summary.skipped == sum(r["status"] == "skipped" for r in mine)
    times = stage_times(populated)
    assert dict(page.stages) == {
        s.stage: sum(s.stage in t for t in times.values()) for s in catalog.stages
    }
    assert sum(n for _, n in page.signups) == 40


def test_funnel_by_persona_and_cohorts(
    populated: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    now = clock.now()
    personas = {r["id"]: r["persona"] for r in rows(populated, "SELECT id, persona FROM profiles")}
    seen = {
        r["id"]: at(r["last_seen_at"])
        for r in rows(populated, "SELECT id, last_seen_at FROM profiles")
    }
    times = stage_times(populated)
    for persona in (None, "power_user", NO_PERSONA):
        filters = service.Filters(persona=persona, days=30)
        with populated.connect() as conn:
            page = service.funnel(conn, catalog, now, filters)
        wanted = [
            pid
            for pid, t in times.items()
            if ANCHOR in t
            and t[ANCHOR] >= now - timedelta(days=30)
            and (persona is None or personas[pid] == (None if persona == NO_PERSONA else persona))
        ]
        expected = {s: sum(s in times[p] for p in wanted) for s, _ in page.steps}
        assert dict(page.steps) == expected
        assert page.steps[0][1] == len(wanted) > 0
        cohort_total = sum(c.size for c in page.cohorts)
        members = [
            p
            for p, t in times.items()
            if ANCHOR in t
            and (persona is None or personas[p] == (None if persona == NO_PERSONA else persona))
        ]
        assert cohort_total == len(members)
        for cohort in page.cohorts:
            inside = [
                p
                for p in members
                if cohort.week <= times[p][ANCHOR] < cohort.week + timedelta(weeks=1)
            ]
            assert cohort.size == len(inside)
            for stage, n in cohort.reached.items():
                assert n == sum(stage in times[p] for p in inside)
            for k, kept in enumerate(cohort.retained, start=1):
                if kept is not None:
                    assert kept == sum(
                        seen[p] - times[p][ANCHOR] >= timedelta(weeks=k) for p in inside
                    )


def test_journey_map_of_a_flow(populated: Engine, catalog: Catalog, clock: FrozenClock) -> None:
    filters = service.Filters(flow="welcome", days=0)
    with populated.connect() as conn:
        page = service.journey_map(conn, catalog, clock.now(), filters)
    entered = {
        r["profile_id"]
        for r in rows(populated, "SELECT profile_id, flow, status FROM flow_runs")
        if r["flow"] == "welcome" and r["status"] != "skipped"
    }
    times = stage_times(populated)
    assert page.population == len(entered) == 30
    columns = {c.stage: c for c in page.columns}
    for stage, column in columns.items():
        reached = [p for p in entered if stage in times[p]]
        assert column.reached == len(reached)
        hours = [int((times[p][stage] - times[p][ANCHOR]).total_seconds() / 3600) for p in reached]
        expected = statistics.median(hours) * 3600 if hours else None
        assert column.median_seconds == expected
    assert (
        columns["first_login"].drop_off
        == columns["signup"].reached - columns["first_login"].reached
    )
    worst = max(
        (c for c in page.columns if c.conversion is not None), key=lambda c: 1 - (c.conversion or 0)
    )
    assert worst.pain_point
    _check_touchpoints(populated, page, entered, times)


def _check_touchpoints(
    engine: Engine,
    page: service.JourneyMap,
    entered: set[int],
    times: dict[int, dict[str, datetime]],
) -> None:
    """Each delivery counts in the column of the stage its profile most recently entered."""
    expected: Counter[tuple[str, str, str]] = Counter()
    for d in rows(engine, "SELECT profile_id, flow, channel, content, created_at FROM deliveries"):
        if d["flow"] != "welcome" or d["profile_id"] not in entered:
            continue
        before = [(t, s) for s, t in times[d["profile_id"]].items() if t <= at(d["created_at"])]
        stage = max(before)[1] if before else "before any stage"
        expected[(stage, d["channel"], d["content"])] += 1
    found: Counter[tuple[str, str, str]] = Counter()
    for column in [*page.columns, *([page.before] if page.before else [])]:
        for channel, touches in column.touchpoints.items():
            for t in touches:
                found[(column.stage, channel, t.content)] += t.total
    assert found == expected
    assert sum(found.values()) > 0


def test_journey_map_actions_of_everyone(
    populated: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    """Each tracked event counts in the column of the stage its profile had most recently
    entered at the event's time (latest entry, then latest id), events and distinct people."""
    filters = service.Filters(days=14)  # the later half of the signups
    since = clock.now() - timedelta(days=14)
    with populated.connect() as conn:
        page = service.journey_map(conn, catalog, clock.now(), filters)
    entries: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
    for r in rows(populated, "SELECT id, profile_id, stage, entered_at FROM stage_entries"):
        entries[r["profile_id"]].append((at(r["entered_at"]), r["id"], r["stage"]))
    inside = {p for p, found in entries.items() for t, _, s in found if s == ANCHOR and t >= since}
    events: Counter[tuple[str, str]] = Counter()
    people: dict[tuple[str, str], set[int]] = defaultdict(set)
    sql = "SELECT profile_id, type, name, timestamp FROM events"
    for e in rows(populated, sql):
        when = at(e["timestamp"])
        if e["type"] != "track" or e["profile_id"] not in inside or when < since:
            continue
        before = [entry for entry in entries[e["profile_id"]] if entry[0] <= when]
        key = (max(before)[2] if before else "before any stage", e["name"])
        events[key] += 1
        people[key].add(e["profile_id"])
    assert page.population == len(inside) > 0
    shown = 0
    for column in [*page.columns, *([page.before] if page.before else [])]:
        mine = [key for key in events if key[0] == column.stage]
        assert len(column.actions) == min(6, len(mine))
        for name, n, who in column.actions:
            assert (n, who) == (events[(column.stage, name)], len(people[(column.stage, name)]))
        shown += len(column.actions)
    assert shown > 3


def test_flow_page_counts(populated: Engine, catalog: Catalog, clock: FrozenClock) -> None:
    with populated.connect() as conn:
        page = flow_service.flow_page(conn, catalog, "welcome", None, 0)
    runs = {r["id"]: r for r in rows(populated, "SELECT id, flow, status FROM flow_runs")}
    welcome = {i for i, r in runs.items() if r["flow"] == "welcome"}
    entries = [
        r
        for r in rows(populated, "SELECT run_id, step, kind, outcome FROM journey_entries")
        if r["run_id"] in welcome and r["step"] is not None
    ]
    deliveries = [
        r
        for r in rows(populated, "SELECT run_id, step, status, reason FROM deliveries")
        if r["run_id"] in welcome
    ]
    steps = {s.key: s for s in page.steps}
    email = steps["welcome-email"]
    assert email.entered == len({e["run_id"] for e in entries if e["step"] == "welcome-email"})
    assert email.delivered == sum(
        d["step"] == "welcome-email" and d["status"] == "sent" for d in deliveries
    )
    assert email.skipped == Counter(
        d["reason"] for d in deliveries if d["step"] == "welcome-email" and d["status"] == "skipped"
    )
    assert email.failed == Counter(
        d["reason"] for d in deliveries if d["step"] == "welcome-email" and d["status"] == "failed"
    )
    assert sum(email.failed.values()) > 0
    assert sum(email.skipped.values()) > 0
    wait = steps["steps.3"]
    assert wait.entered == len({e["run_id"] for e in entries if e["step"] == "steps.3"})
    assert wait.outcomes["timed out"] == sum(
        e["step"] == "steps.3" and e["outcome"] == "timed out" for e in entries
    )
    variant = steps["steps.1"]
    assert variant.entered == wait.entered  # every run passes the variant step
    assert sum(variant.skipped.values()) == sum(e["step"] == "steps.1" for e in entries)
    assert page.runs == Counter(runs[i]["status"] for i in welcome)
    failed = [d for d in deliveries if d["status"] == "failed"]
    assert len(page.failures) == len(failed)


def test_waiting_counts_runs_waiting_now(
    populated: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    """Per flow and wait step: the runs whose state parks them there now, from the run rows."""
    now = clock.now()
    expected: Counter[tuple[str, str]] = Counter()
    ever: Counter[tuple[str, str]] = Counter()
    since = now - timedelta(days=9)
    sql = "SELECT id, flow, status, state, entered_at FROM flow_runs"
    recent = {}
    for r in rows(populated, sql):
        recent[r["id"]] = (r["flow"], at(r["entered_at"]) >= since)
        state = r["state"] if isinstance(r["state"], dict) else json.loads(r["state"])
        if r["status"] == "waiting" and recent[r["id"]][1]:
            expected[(r["flow"], state["waiting"]["step"])] += 1
    for e in rows(populated, "SELECT run_id, step, outcome FROM journey_entries"):
        flow, is_recent = recent[e["run_id"]]
        ever[(flow, e["step"])] += e["outcome"] == "waiting" and is_recent
    shown: dict[tuple[str, str], int] = {}
    with populated.connect() as conn:
        for flow in catalog.flows:
            page = flow_service.flow_page(conn, catalog, flow, since, 0)
            shown |= {(flow, s.key): s.waiting for s in page.steps if s.waiting}
            assert all("waiting" not in s.outcomes for s in page.steps)
    assert shown == dict(expected)
    assert sum(expected.values()) > 0
    assert sum(ever.values()) > sum(expected.values())  # some runs waited and moved on


def test_experiment_page_agrees_with_results(
    populated: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    key = "welcome-tutorial-first"
    with populated.connect() as conn:
        page = experiment_page(conn, catalog, key, clock.now(), include_in_progress=True)
        results = experiment_results(conn, catalog, key, clock.now(), include_in_progress=True)
    assert page.results.model_dump() == results.model_dump()
    exposed = rows(populated, "SELECT variant, exposed_at FROM experiment_assignments")
    assert results.exposed == len(exposed) == 30
    points = page.cumulative["tutorial_first"]
    assert [p.users for p in points] == sorted(p.users for p in points)
    last = points[-1]
    assert last.users == len(exposed)
    found = results.comparisons[0]
    # 30 profiles are under the minimum sample (20 per arm): the results keep the lift as a
    # description, and the chart does not draw it as a finding.
    assert found.reason == "not_enough_data"
    assert found.relative_lift is not None
    assert last.lift is None
    first_day = points[0].at
    assert points[0].users == sum(at(e["exposed_at"]) <= first_day for e in exposed)


def test_profile_timeline(populated: Engine, catalog: Catalog) -> None:
    waiting = rows(
        populated,
        "SELECT p.id, p.user_id FROM timers t JOIN flow_runs r ON r.id = t.run_id"
        " JOIN profiles p ON p.id = r.profile_id ORDER BY t.id",
    )[0]
    pid = waiting["id"]
    with populated.connect() as conn:
        page = flow_service.profile_page(conn, waiting["user_id"])
    kinds = Counter(m.kind for m in page.timeline)
    stages = rows(populated, f"SELECT stage FROM stage_entries WHERE profile_id = {pid}")
    assert kinds["stage"] == len(stages)
    timers = rows(
        populated,
        f"SELECT t.id FROM timers t JOIN flow_runs r ON r.id = t.run_id WHERE r.profile_id = {pid}",
    )
    assert kinds["timer"] == len(timers) > 0
    assert [m.at for m in page.timeline] == sorted(m.at for m in page.timeline)
    assert page.events_total == len(
        rows(populated, f"SELECT id FROM events WHERE profile_id = {pid}")
    )
