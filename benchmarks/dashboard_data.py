"""A realistic onboarding population written straight into a migrated database, fast.

Used by `benchmarks/dashboard.py`: N profiles (default 100,000) who signed up over the last
16 weeks, with personas, stage entries, product and internal events, runs of the example
flows with their journey entries, deliveries (a few failed or skipped), pending timers, and
the `welcome-tutorial-first` experiment's assignments. Rows go through the DB-API
`executemany` in chunks; the shapes and encodings are those the engine writes, so the
dashboard reads them exactly as it reads real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPERIMENT = "welcome-tutorial-first"
PERSONAS = [
    ("beginner_marketer", 35),
    ("power_user", 20),
    ("team_admin", 15),
    ("trial_evaluator", 15),
    (None, 15),
]
CONTEXT = orjson.dumps({"library": {"name": "analytics-python", "version": "2.3.4"}}).decode()
INTERNAL = orjson.dumps({"library": {"name": "parcours"}}).decode()
TABLES = {
    "profiles": "id, user_id, traits, first_seen_at, last_seen_at, persona, created_at, updated_at",
    "events": "message_id, profile_id, type, name, user_id, anonymous_id, properties, context,"
    " timestamp, original_timestamp, sent_at, received_at",
    "stage_entries": "profile_id, stage, entered_at",
    "segment_memberships": "profile_id, segment, entered_at, exited_at",
    "flow_runs": "id, flow, version_id, profile_id, status, variant, state, wait_target,"
    " entered_at, updated_at, ended_at, end_reason",
    "journey_entries": "run_id, at, step, kind, outcome, detail",
    "deliveries": "run_id, profile_id, flow, step, channel, content, status, reason, attempts,"
    " next_attempt_at, created_at, updated_at, sent_at",
    "timers": "run_id, step, due_at",
    "experiment_assignments": "experiment, profile_id, variant, bucket, persona, exposed_at",
}


def ts(value: datetime) -> str:
    """SQLite's stored form of a UTCDateTime (see engine.store.base)."""
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


@dataclass
class Rows:
    """Rows per table, flushed in chunks so memory stays flat."""

    tables: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in TABLES}
    )
    run_id: int = 0
    events: int = 0

    def add(self, table: str, *values: Any) -> None:
        self.tables[table].append(values)

    def flush(self, raw: Any) -> None:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        for table, rows in self.tables.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                sql = f"INSERT INTO {table} ({TABLES[table]}) VALUES ({marks})"
                cursor.executemany(sql, rows)
                rows.clear()
        cursor.execute("COMMIT")


@dataclass
class Person:
    """One simulated profile: who it is and when it reached each stage."""

    pid: int
    persona: str | None
    signup: datetime
    stages: dict[str, datetime]
    last_seen: datetime
    email: bool


def fill(engine: Engine, profiles: int, seed: int = 7) -> dict[str, int]:
    """Write `profiles` simulated profiles; returns the row count of each table."""
    rng = random.Random(seed)
    rows = Rows()
    counts = dict.fromkeys(TABLES, 0)
    _flow_versions(engine)
    raw = engine.raw_connection()
    try:
        # A throwaway database: no fsync, a large page cache for the index inserts.
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-524288")
        for pid in range(1, profiles + 1):
            person = _person(rng, pid)
            _profile_rows(rows, rng, person)
            _run_welcome(rows, rng, person)
            _run_rescue(rows, rng, person)
            _run_exploration(rows, rng, person)
            if pid % 5000 == 0 or pid == profiles:
                for table, table_rows in rows.tables.items():
                    counts[table] += len(table_rows)
                rows.flush(raw)
    finally:
        raw.close()
    return counts


def _flow_versions(engine: Engine) -> None:
    raw = engine.raw_connection()
    try:
        raw.cursor().executemany(
            "INSERT INTO flow_versions (id, flow, version, definition, created_at)"
            " VALUES (?, ?, ?, '{}', ?)",
            [
                (1, "welcome", "v1", ts(NOW - timedelta(days=200))),
                (2, "activation-rescue", "v1", ts(NOW - timedelta(days=200))),
                (3, "feature-exploration", "v1", ts(NOW - timedelta(days=200))),
            ],
        )
        raw.commit()
    finally:
        raw.close()


def _person(rng: random.Random, pid: int) -> Person:
    persona = rng.choices([p for p, _ in PERSONAS], [w for _, w in PERSONAS])[0]
    signup = NOW - timedelta(seconds=rng.uniform(0, 112 * 86400))
    lift = 1.25 if persona == "power_user" else 1.0
    stages = {"signup": signup}
    if rng.random() < 0.6:
        stages["discovery"] = signup - timedelta(seconds=rng.uniform(60, 3 * 86400))
    if rng.random() < 0.85:
        stages["first_login"] = signup + timedelta(seconds=rng.expovariate(1 / 7200))
        if rng.random() < 0.42 * lift:
            stages["activation"] = stages["first_login"] + timedelta(days=rng.uniform(0.1, 12))
            if rng.random() < 0.5:
                stages["exploration"] = stages["activation"] + timedelta(days=rng.uniform(1, 15))
    if rng.random() < 0.15:
        stages["integration"] = signup + timedelta(days=rng.uniform(2, 30))
    stages = {name: at for name, at in stages.items() if at <= NOW}
    last = max(stages.values()) + timedelta(days=rng.expovariate(1 / 10))
    return Person(pid, persona, signup, stages, min(last, NOW), rng.random() < 0.97)


def _profile_rows(rows: Rows, rng: random.Random, p: Person) -> None:
    first = min(p.stages.values())
    traits = {"email": f"user{p.pid}@example.com"} if p.email else {}
    traits |= {"plan": rng.choice(["trial", "trial", "starter", "pro"])}
    rows.add(
        "profiles",
        p.pid,
        f"user-{p.pid}",
        orjson.dumps(traits).decode(),
        ts(first),
        ts(p.last_seen),
        p.persona,
        ts(first),
        ts(p.last_seen),
    )
    if p.persona is not None:
        rows.add("segment_memberships", p.pid, p.persona, ts(p.signup), None)
    for stage, at in p.stages.items():
        rows.add("stage_entries", p.pid, stage, ts(at))
        _event(rows, p, "internal", "stage_entered", at, {"stage": stage})
    _event(rows, p, "identify", None, p.signup, {})
    names = {
        "discovery": "page_viewed",
        "signup": "signed_up",
        "first_login": "logged_in",
        "activation": "campaign_sent",
        "exploration": "automation_created",
        "integration": "integration_connected",
    }
    for stage, at in p.stages.items():
        _event(rows, p, "track", names[stage], at, {})
    for _ in range(rng.randint(0, 6)):
        at = p.signup + (p.last_seen - p.signup) * rng.random()
        _event(rows, p, "track", rng.choice(["logged_in", "campaign_created", "page_viewed"]), at)


def _event(
    rows: Rows, p: Person, kind: str, name: str | None, at: datetime, props: Any = None
) -> None:
    rows.events += 1
    context = INTERNAL if kind == "internal" else CONTEXT
    rows.add(
        "events",
        f"bench-{rows.events:09d}",
        p.pid,
        kind,
        name,
        f"user-{p.pid}",
        None,
        orjson.dumps(props or {}).decode(),
        context,
        ts(at),
        None,
        None,
        ts(at),
    )


def _end_run(
    rows: Rows,
    run: tuple[int, str, int, Person, datetime],
    status: str,
    end: datetime | None,
    reason: str | None,
    variant: str | None = None,
    wait: tuple[str, datetime] | None = None,
    journal: bool = True,
) -> None:
    run_id, flow, version, p, entered = run
    state = orjson.dumps({"frames": [], "variant": variant, "waiting": None}).decode()
    ended = None if end is None else ts(end)
    rows.add(
        "flow_runs",
        run_id,
        flow,
        version,
        p.pid,
        status,
        variant,
        state,
        None,
        ts(entered),
        ts(end or entered),
        ended,
        reason,
    )
    if not journal:  # a skipped entry attempt has no journey, as in the engine
        return
    rows.add("journey_entries", run_id, ts(entered), None, "flow", "entered", "{}")
    if end is not None:
        rows.add("journey_entries", run_id, ts(end), None, "flow", status, "{}")
    if wait is not None:
        rows.add("timers", run_id, wait[0], ts(wait[1]))


def _step(rows: Rows, run_id: int, at: datetime, step: str, kind: str, outcome: str) -> None:
    rows.add("journey_entries", run_id, ts(at), step, kind, outcome, "{}")


def _deliver(
    rows: Rows,
    rng: random.Random,
    run: tuple[int, str, int, Person, datetime],
    at: datetime,
    step: str,
    channel: str,
    content: str,
) -> None:
    """A delivery and its journey entry; emails sometimes fail or have no address."""
    run_id, flow, _, p, _ = run
    status, reason, attempts = "sent", None, 1
    if channel == "email" and not p.email:
        status, reason, attempts = "skipped", "no email address", 0
    elif channel == "email" and rng.random() < 0.01:
        status, reason, attempts = "failed", "550 5.1.1 mailbox unavailable", 1
    sent = ts(at) if status == "sent" else None
    rows.add(
        "deliveries",
        run_id,
        p.pid,
        flow,
        step,
        channel,
        content,
        status,
        reason,
        attempts,
        None,
        ts(at),
        ts(at),
        sent,
    )
    # As the engine journals them: emails are "pending" when decided (the dispatcher sends
    # them after commit), in-app items "delivered" at once.
    outcome = "pending" if channel in ("email", "webhook") else "delivered"
    detail = orjson.dumps({"content": content}).decode()
    rows.add("journey_entries", run_id, ts(at), step, channel, outcome, detail)


BY_SEGMENT = {
    "beginner_marketer": ("tutorial", "guided-first-campaign"),
    "power_user": ("tip", "keyboard-shortcuts"),
    "team_admin": ("email", "invite-your-team"),
}


def _run_welcome(rows: Rows, rng: random.Random, p: Person) -> None:
    """The welcome flow with its experiment; profiles without a persona are skipped."""
    at = p.signup
    run = (rows.run_id + 1, "welcome", 1, p, at)
    rows.run_id += 1
    if p.persona is None:
        _end_run(rows, run, "skipped", at, "not in audience", journal=False)
        return
    variant = "control" if rng.random() < 0.5 else "tutorial_first"
    rows.add("experiment_assignments", EXPERIMENT, p.pid, variant, 0, p.persona, ts(at))
    _event(rows, p, "internal", "experiment_exposed", at, {"experiment": EXPERIMENT})
    _deliver(rows, rng, run, at, "welcome-email", "email", "welcome")
    if variant == "tutorial_first":
        _deliver(rows, rng, run, at, "steps.1.steps.0", "tutorial", "templates-tour")
    else:
        detail = '{"reason":"variant is control"}'
        rows.add("journey_entries", run[0], ts(at), "steps.1", "variant", "skipped", detail)
    chosen = p.persona if p.persona in BY_SEGMENT else "else"
    _step(rows, run[0], at, "steps.2", "by_segment", chosen)
    channel, content = BY_SEGMENT.get(p.persona or "", ("tip", "getting-started-checklist"))
    step = f"steps.2.by_segment.{chosen}.0" if chosen != "else" else "steps.2.else.0"
    _deliver(rows, rng, run, at, step, channel, content)
    _step(rows, run[0], at, "steps.3", "wait_until", "waiting")
    _welcome_end(rows, rng, run, variant)


def _welcome_end(
    rows: Rows, rng: random.Random, run: tuple[int, str, int, Person, datetime], variant: str
) -> None:
    p, at = run[3], run[4]
    activated = p.stages.get("activation")
    if activated is not None and activated <= at + timedelta(days=14):
        _end_run(rows, run, "converted", activated, "goal reached", variant)
    elif at + timedelta(days=2) > NOW:
        _end_run(rows, run, "waiting", None, None, variant, ("steps.3", at + timedelta(days=2)))
    else:
        timeout = at + timedelta(days=2)
        _step(rows, run[0], timeout, "steps.3", "wait_until", "timed out")
        _deliver(rows, rng, run, timeout, "steps.3.on_timeout.0", "tip", "start-from-a-template")
        _end_run(rows, run, "completed", timeout, "all steps done", variant)


def _run_rescue(rows: Rows, rng: random.Random, p: Person) -> None:
    """activation-rescue: after first login, two nudges unless activation comes first."""
    login = p.stages.get("first_login")
    if login is None:
        return
    rows.run_id += 1
    run = (rows.run_id, "activation-rescue", 2, p, login)
    _step(rows, run[0], login, "steps.0", "wait", "waiting")
    activated = p.stages.get("activation")
    first = login + timedelta(days=3)
    if activated is not None and activated <= min(first, NOW):
        _end_run(rows, run, "converted", activated, "goal reached")
        return
    if first > NOW:
        _end_run(rows, run, "waiting", None, None, None, ("steps.0", first))
        return
    created = rng.random() < 0.3
    _step(rows, run[0], first, "steps.1", "branch", "then" if created else "else")
    email = "finish-your-campaign" if created else "need-a-hand"
    step = "steps.1.then.0" if created else "steps.1.else.0"
    _deliver(rows, rng, run, first, step, "email", email)
    second = first + timedelta(days=3)
    if activated is not None and activated <= min(second, NOW):
        _end_run(rows, run, "converted", activated, "goal reached")
    elif second > NOW:
        _end_run(rows, run, "waiting", None, None, None, ("steps.2", second))
    else:
        _step(rows, run[0], second, "steps.3", "by_segment", "else")
        _deliver(rows, rng, run, second, "steps.3.else.0", "tip", "getting-started-checklist")
        _end_run(rows, run, "completed", second, "all steps done")


def _run_exploration(rows: Rows, rng: random.Random, p: Person) -> None:
    """feature-exploration: a tip a day after activation, until exploration."""
    activated = p.stages.get("activation")
    if activated is None:
        return
    rows.run_id += 1
    run = (rows.run_id, "feature-exploration", 3, p, activated)
    tip_at = activated + timedelta(days=1)
    explored = p.stages.get("exploration")
    if explored is not None and explored <= tip_at:
        _end_run(rows, run, "converted", explored, "goal reached")
    elif tip_at > NOW:
        _end_run(rows, run, "waiting", None, None, None, ("steps.0", tip_at))
    else:
        _deliver(rows, rng, run, tip_at, "steps.1", "tip", "automation-builder")
        if explored is not None:
            _end_run(rows, run, "converted", explored, "goal reached")
        else:
            _end_run(rows, run, "completed", tip_at + timedelta(days=5), "all steps done")
