"""The flow page's counters stay equal to the rows they count, on both backends.

The population is written through the real pipeline, timers and dispatcher, so every write
path keeps the counters up to date incrementally; a recount from the raw rows must then give
exactly the same table, and so must erasing a profile, rolling a batch back, and the
migration's backfill. `test_flow_outcomes_match_rows` compares what the flow page reads
(counters for whole days, rows for a partial first day and deliveries in flight) with plain
SELECTs counted in Python.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.profiles.repository import erase_profile
from engine.store.db import write_transaction
from engine.store.migrate import alembic_config, upgrade
from engine.store.recount import delivery_counts, rebuild, step_counts
from engine.web import flow_repository, flow_service, service
from tests.conftest import START
from tests.web.population import traits
from tests.web.test_aggregates import at, rows


def counters(engine: Engine) -> tuple[set[Any], set[Any]]:
    """Both tables as sets of rows, without the keys whose counts went back to zero."""
    with engine.connect() as conn:
        steps = {tuple(r) for r in conn.execute(select(step_counts)) if r.entries}
        sent = {tuple(r) for r in conn.execute(select(delivery_counts)) if r.deliveries}
    return steps, sent


def recounted(engine: Engine) -> tuple[set[Any], set[Any]]:
    """The counters computed afresh from the raw rows (and put back as they were)."""
    with engine.connect() as conn:
        kept = conn.begin()
        rebuild(conn)
        steps = {tuple(r) for r in conn.execute(select(step_counts))}
        sent = {tuple(r) for r in conn.execute(select(delivery_counts))}
        kept.rollback()
    return steps, sent


def test_counters_equal_a_recount(populated: Engine) -> None:
    steps, sent = counters(populated)
    assert (steps, sent) == recounted(populated)
    assert any(row[-1] > 0 for row in steps)  # converted runs were credited
    assert {row[5] for row in sent} == {"sent", "failed", "skipped"}


def test_erasure_subtracts_the_profiles_runs(populated: Engine) -> None:
    pid = rows(populated, "SELECT profile_id FROM deliveries WHERE status = 'sent'")[0]
    with write_transaction(populated) as conn:
        erase_profile(conn, pid["profile_id"])
    assert counters(populated) == recounted(populated)


def test_a_rolled_back_batch_counts_nothing(
    populated: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    before = counters(populated)
    who = {"userId": "newcomer", "timestamp": clock.now().isoformat()}
    messages = [
        who | {"type": "identify", "traits": traits(0), "messageId": "rb-1"},
        who | {"type": "track", "event": "signed_up", "messageId": "rb-2"},
    ]
    batch = [MESSAGE_ADAPTER.validate_python(m) for m in messages]

    def crash_after_the_batch() -> None:
        with write_transaction(populated) as conn:
            process_messages(conn, catalog, batch, clock.now())
            assert counters_in(conn) != before  # the batch did count, in its transaction
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash_after_the_batch()
    assert counters(populated) == before


def counters_in(conn: Any) -> tuple[set[Any], set[Any]]:
    steps = {tuple(r) for r in conn.execute(select(step_counts)) if r.entries}
    return steps, {tuple(r) for r in conn.execute(select(delivery_counts)) if r.deliveries}


def test_migration_backfills_existing_rows(populated: Engine) -> None:
    before = counters(populated)
    command.downgrade(alembic_config(populated), "0007")
    with populated.connect() as conn:
        assert "step_counts" not in {r[0] for r in conn.execute(text(_TABLES[conn.dialect.name]))}
    upgrade(populated)
    assert counters(populated) == before


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}


def test_flow_outcomes_match_rows(populated: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    midnight = datetime.combine((now - timedelta(days=12)).date(), datetime.min.time(), UTC)
    for since in (None, now - timedelta(days=9, hours=5), midnight):
        runs = {
            r["id"]: r
            for r in rows(populated, "SELECT id, flow, converted_at, entered_at FROM flow_runs")
            if r["flow"] == "welcome" and (since is None or at(r["entered_at"]) >= since)
        }
        with populated.connect() as conn:
            steps = flow_repository.step_outcomes(conn, "welcome", since)
            sent = flow_repository.delivery_outcomes(conn, "welcome", since)
        found: Counter[tuple[Any, ...]] = Counter()
        for o in steps:
            found[(o.step, o.kind, o.outcome, o.reason, "entries")] += o.entries
            found[(o.step, o.kind, o.outcome, o.reason, "converted")] += o.converted
        expected: Counter[tuple[Any, ...]] = Counter()
        for e in rows(populated, "SELECT run_id, step, kind, outcome, detail FROM journey_entries"):
            if e["run_id"] in runs and e["step"] is not None:
                detail = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
                key = (e["step"], e["kind"], e["outcome"], detail.get("reason"))
                expected[(*key, "entries")] += 1
                expected[(*key, "converted")] += runs[e["run_id"]]["converted_at"] is not None
        assert +found == +expected
        by_status = Counter(
            (d.step, d.channel, d.content, d.status, d.reason) for d in sent for _ in range(d.count)
        )
        assert by_status == Counter(
            (d["step"], d["channel"], d["content"], d["status"], d["reason"])
            for d in rows(
                populated, "SELECT run_id, step, channel, content, status, reason FROM deliveries"
            )
            if d["run_id"] in runs
        )
        assert sum(by_status.values()) > 0


def goal_conversions(engine: Engine, catalog: Catalog) -> dict[int, bool]:
    """Per entered run, from the rows alone: did its goal hold within its window?

    The example flows' goals are a stage (or an event nobody sends here): reached if the
    profile entered the stage no later than the window's end, before the run or during it
    (the goal then holds at once) or after its steps ended.
    """
    entries = {
        (r["profile_id"], r["stage"]): at(r["entered_at"])
        for r in rows(engine, "SELECT profile_id, stage, entered_at FROM stage_entries")
    }
    out = {}
    sql = "SELECT id, flow, profile_id, entered_at FROM flow_runs WHERE status != 'skipped'"
    for run in rows(engine, sql):
        goal = catalog.flows[run["flow"]].goal
        assert goal is not None
        stage = getattr(goal.condition, "stage", None)
        reached = entries.get((run["profile_id"], stage))
        out[run["id"]] = reached is not None and reached <= at(run["entered_at"]) + goal.within
    return out


def test_conversions_count_the_goal_after_the_last_step(
    populated: Engine, catalog: Catalog
) -> None:
    expected = goal_conversions(populated, catalog)
    stored = rows(populated, "SELECT id, flow, status, converted_at FROM flow_runs")
    runs = {r["id"]: r for r in stored}
    assert {i: runs[i]["converted_at"] is not None for i in expected} == expected
    # Some runs converted after their steps had ended (the welcome email, days before).
    late = [i for i, hit in expected.items() if hit and runs[i]["status"] != "converted"]
    assert any(runs[i]["flow"] == "welcome" for i in late)
    with populated.connect() as conn:
        pages = {f: flow_service.flow_page(conn, catalog, f, None, 0) for f in catalog.flows}
        overview = {s.flow: s for s in service.overview(conn, catalog, START, 0).flows}
    for flow, page in pages.items():
        converted = sum(hit for i, hit in expected.items() if runs[i]["flow"] == flow)
        assert page.converted == overview[flow].converted == converted
        assert page.conversion is not None
        # A step's converted runs: those of its journey entries whose run converted.
        by_step: Counter[str] = Counter()
        sql = "SELECT run_id, step, kind, outcome FROM journey_entries"
        for e in rows(populated, sql):
            if (
                runs[e["run_id"]]["flow"] == flow
                and e["step"] is not None
                and e["kind"] != "variant"  # shown with the variant's first child
                and e["outcome"] not in ("timed out", "target reached")  # second visits
            ):
                by_step[e["step"]] += expected.get(e["run_id"], False)
        shown = {row.key: row.converted for row in page.steps if row.kind != "variant"}
        assert {k: n for k, n in shown.items() if n} == +by_step
