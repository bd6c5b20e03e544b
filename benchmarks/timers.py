"""Timer tick throughput with a million waiting timers, against a raw claim loop.

The table holds `--timers` waiting timers (default 1,000,000), of which `--due` are due; every
due run continues with a `tip` step (an in-app delivery, written in the same transaction).

- engine: `run_due_timers` (claims 500 per transaction, wakes each run, writes its
  delivery, in-app item, journey entries and new state);
- raw: the bare claim over the same due rows on a copy of the same database (indexed select
  plus delete, 500 per transaction; FOR UPDATE SKIP LOCKED on PostgreSQL);
- floor (SQLite): the raw claim plus the rows the engine wrote for those timers, replayed
  as pre-encoded executemany statements batch by batch (the runs read, their new state,
  deliveries, in-app items, journey entries): what a tick costs with no logic at all.

All report due timers per second; the ratio engine/raw is the figure the issue sets, and
floor/raw the most any engine that writes these rows could reach. On PostgreSQL the engine
also runs as two worker processes sharing the work.

    python benchmarks/timers.py [--timers 1000000] [--due 20000] [--backend sqlite|postgresql|both]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import fresh_postgres_db
from engine.catalog.catalog import Catalog, load_catalog
from engine.flows.interpreter import Frame, RunState, Waiting, state_to_json
from engine.flows.repository import claim_due_timers
from engine.flows.tasks import run_due_timers
from engine.flows.versions import current_version
from engine.heap import freeze_startup_heap
from engine.store.bulk import BulkWriter
from engine.store.db import create_db_engine, write_transaction
from engine.store.migrate import upgrade
from tests.flows.content import content_with
from tests.support.postgres import PostgresServer

FLOW = "flow: nudge\ntrigger: {event: go}\nsteps: [{wait: 1d}, {tip: shortcuts}]\n"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PROFILES = 10_000
CHUNK = 50_000


def catalog_for(tmp: Path) -> Catalog:
    catalog, problems = load_catalog(content_with(tmp / "content", nudge=FLOW))
    assert catalog is not None, problems
    return catalog


def populate(engine: Engine, catalog: Catalog, timers: int, due: int) -> None:
    """Profiles, one flow version, `timers` waiting runs with a timer each, `due` of them due."""
    version, document = current_version(catalog, "nudge")
    with write_transaction(engine) as conn:
        w = BulkWriter(conn)
        stamp = w.time(NOW - timedelta(days=2))
        w.execute_many(
            "INSERT INTO profiles (user_id, traits, first_seen_at, last_seen_at, created_at,"
            " updated_at, persona) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, NULL)",
            [(f"u{i}", "{}", stamp, stamp, stamp, stamp) for i in range(PROFILES)],
        )
        w.execute_many(
            "INSERT INTO flow_versions (flow, version, definition, created_at)"
            " VALUES ({p}, {p}, {p}, {p})",
            [("nudge", version, orjson.dumps(document).decode(), stamp)],
        )
    for start in range(0, timers, CHUNK):
        _populate_chunk(engine, range(start, min(start + CHUNK, timers)), due)


def _populate_chunk(engine: Engine, ids: range, due: int) -> None:
    with write_transaction(engine) as conn:
        w = BulkWriter(conn)
        entered = w.time(NOW - timedelta(days=2))
        runs, timers = [], []
        for i in ids:
            until = NOW - timedelta(minutes=1) if i < due else NOW + timedelta(days=1 + i % 30)
            state = RunState((Frame(("steps",), 1),), None, Waiting("steps.0", until))
            runs.append(
                (
                    i + 1,
                    "nudge",
                    1,
                    i % PROFILES + 1,
                    "waiting",
                    orjson.dumps(state_to_json(state)).decode(),
                    entered,
                    entered,
                )
            )
            timers.append((i + 1, "steps.0", w.time(until)))
        w.execute_many(
            "INSERT INTO flow_runs (id, flow, version_id, profile_id, status, state, entered_at,"
            " updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
            runs,
        )
        w.execute_many("INSERT INTO timers (run_id, step, due_at) VALUES ({p}, {p}, {p})", timers)


def raw_claims(engine: Engine) -> int:
    claimed = 0
    while True:
        with write_transaction(engine) as conn:
            w = BulkWriter(conn)
            lock = "" if w.sqlite else " FOR UPDATE SKIP LOCKED"
            ids = [
                r[0]
                for r in w.fetch(
                    f"SELECT id FROM timers WHERE due_at <= {{p}} ORDER BY due_at LIMIT 500{lock}",
                    [w.time(NOW)],
                )
            ]
            if not ids:
                return claimed
            w.fetch(
                f"DELETE FROM timers WHERE id IN ({w.placeholders(len(ids))}) RETURNING id", ids
            )
            claimed += len(ids)


Replay = dict[int, dict[str, list[tuple[Any, ...]]]]


def engine_writes(engine: Engine) -> Replay:
    """Per run: the rows the engine wrote for it, encoded for the driver in advance."""
    tables = {
        "runs": "SELECT id, status, state, wait_target, updated_at, ended_at, end_reason"
        " FROM flow_runs WHERE status != 'waiting'",
        "deliveries": "SELECT run_id, profile_id, flow, step, channel, content, status, reason,"
        " attempts, next_attempt_at, created_at, updated_at, sent_at, stage FROM deliveries",
        "items": "SELECT d.run_id, i.profile_id, i.kind, i.name, i.priority, i.content,"
        " i.status, i.created_at, i.updated_at, i.expires_at"
        " FROM inapp_items i JOIN deliveries d ON d.id = i.delivery_id",
        "journey": "SELECT run_id, at, step, kind, outcome, detail FROM journey_entries",
    }
    written: Replay = {}
    with engine.connect() as conn:
        w = BulkWriter(conn)
        for table, sql in tables.items():
            for row in w.fetch(sql, []):
                encoded = tuple(w.value(v) for v in row)
                written.setdefault(row[0], {}).setdefault(table, []).append(encoded)
    return written


def floor_claims(engine: Engine, written: Replay) -> int:
    """The engine's claim plus its rows for the claimed runs, written with no logic."""
    claimed = 0
    while True:
        with write_transaction(engine) as conn:
            w = BulkWriter(conn)
            ids = [run for _, run, _ in claim_due_timers(w, NOW, 500)]
            if not ids:
                return claimed
            marks = w.placeholders(len(ids))
            w.fetch(f"SELECT * FROM flow_runs WHERE id IN ({marks})", ids)
            rows = [written[i] for i in ids]
            w.execute_many(
                "UPDATE flow_runs SET status = {p}, state = {p}, wait_target = {p},"
                " updated_at = {p}, ended_at = {p}, end_reason = {p} WHERE id = {p}",
                [(*r[1:], r[0]) for run in rows for r in run["runs"]],
            )
            w.execute_many(
                "INSERT INTO deliveries (run_id, profile_id, flow, step, channel, content, status,"
                " reason, attempts, next_attempt_at, created_at, updated_at, sent_at, stage)"
                " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                [r for run in rows for r in run["deliveries"]],
            )
            new = f"SELECT run_id, id FROM deliveries WHERE run_id IN ({marks})"
            delivery = dict(w.fetch(new, ids))
            w.execute_many(
                "INSERT INTO inapp_items (delivery_id, profile_id, kind, name, priority, content,"
                " status, created_at, updated_at, expires_at)"
                " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                [(delivery[r[0]], *r[1:]) for run in rows for r in run["items"]],
            )
            w.execute_many(
                "INSERT INTO journey_entries (run_id, at, step, kind, outcome, detail)"
                " VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                [r for run in rows for r in run["journey"]],
            )
            claimed += len(ids)


def engine_worker(url: str, content: str, out: Any) -> None:
    catalog, _ = load_catalog(Path(content))
    assert catalog is not None
    engine = create_db_engine(url)
    freeze_startup_heap()  # as `parcours worker` does once started
    out.put(run_due_timers(engine, catalog, NOW))
    engine.dispose()


def timed(fn: Any, *args: Any) -> tuple[int, float]:
    started = time.perf_counter()
    done = fn(*args)
    return done, time.perf_counter() - started


def parallel(url: str, content: Path, workers: int) -> tuple[int, float]:
    queue: Any = multiprocessing.get_context("fork").Queue()
    procs = [
        multiprocessing.get_context("fork").Process(
            target=engine_worker, args=(url, str(content), queue)
        )
        for _ in range(workers)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    return sum(queue.get() for _ in procs), elapsed


def report(name: str, due: int, raw: tuple[int, float], runs: dict[str, tuple[int, float]]) -> None:
    raw_rate = raw[0] / raw[1]
    print(f"{name:10s} raw claim loop {raw_rate:10,.0f} timers/s ({raw[0]:,} due)")
    for label, (done, elapsed) in runs.items():
        assert done == due, (label, done, due)
        rate = done / elapsed
        print(
            f"{'':10s} engine, {label:9s} {rate:10,.0f} timers/s"
            f"   ratio to raw {rate / raw_rate:5.1%}"
        )


def bench_sqlite(timers: int, due: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        catalog = catalog_for(tmp)
        base = tmp / "base.db"
        engine = create_db_engine(f"sqlite:///{base}")
        upgrade(engine)
        started = time.perf_counter()
        populate(engine, catalog, timers, due)
        engine.dispose()
        print(f"sqlite: {timers:,} timers written in {time.perf_counter() - started:.0f} s")
        freeze_startup_heap()  # as `parcours worker` does once started
        best: dict[str, tuple[int, float]] = {}
        for round_no in range(rounds):  # interleaved: the machine's load changes over a run
            copies = {}
            for name in ("raw", "engine", "floor"):
                shutil.copy(base, tmp / f"{name}.db")
                copies[name] = create_db_engine(f"sqlite:///{tmp / name}.db")
            results = {
                "raw": timed(raw_claims, copies["raw"]),
                "engine": timed(run_due_timers, copies["engine"], catalog, NOW),
            }
            results["floor"] = timed(floor_claims, copies["floor"], engine_writes(copies["engine"]))
            for name, engine in copies.items():
                engine.dispose()
                if name not in best or results[name][1] < best[name][1]:
                    best[name] = results[name]
            print(
                f"round {round_no + 1}: "
                + ", ".join(f"{n} {d / t:,.0f}/s" for n, (d, t) in results.items())
            )
        raw, done, floor = best["raw"], best["engine"], best["floor"]
        report("sqlite", due, raw, {"1 worker": done, "floor": floor})


def bench_postgres(timers: int, due: int) -> None:
    server = PostgresServer(durable=True)
    try:
        admin = server.start()
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            catalog = catalog_for(tmp)
            names = ("raw", "one", "two", "floor")
            urls = {n: fresh_postgres_db(admin, f"timers_{n}") for n in names}
            for url in urls.values():
                engine = create_db_engine(url)
                populate(engine, catalog, timers, due)
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
                engine.dispose()
            raw = timed(raw_claims, create_db_engine(urls["raw"]))
            one = parallel(urls["one"], tmp / "content", 1)
            two = parallel(urls["two"], tmp / "content", 2)
            written = engine_writes(create_db_engine(urls["one"]))
            floor = timed(floor_claims, create_db_engine(urls["floor"]), written)
            report("postgresql", due, raw, {"1 worker": one, "2 workers": two, "floor": floor})
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="SQLite: best of interleaved runs")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        bench_sqlite(args.timers, args.due, args.rounds)
    if args.backend in ("postgresql", "both"):
        bench_postgres(args.timers, args.due)


if __name__ == "__main__":
    main()
