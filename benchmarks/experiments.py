"""Cost of experiment results through the engine, against a bare `GROUP BY variant` count.

One experiment with N exposed profiles (default 1,000,000), each with a persona, a signup
stage entry, an activation for about a third of them and a few product events around days
0, 7 and 30; 1% unsubscribe. All measurements run on the same database in the same run:

    bare      SELECT variant, COUNT(*) FROM experiment_assignments
              WHERE experiment = ? GROUP BY variant
    primary   experiment_results() with only the primary metric (activation within 14
              days), persona breakdown and every statistic
    full      experiment_results() with the default metrics: activation, retention on days
              7 and 30, the unsubscribe guardrail

each measured three ways: `live` with nothing folded (every value computed from events and
stage entries, at day 75); `running` at day 40, as the last exposures come in; `ended` at
day 75. Running and ended are measured at their worst moment, just before the worker's next
fold: the last fold ran one fold interval earlier, so each metric's live tail is
LATE_DATA_GRACE plus one fold interval of matured exposures. The folds themselves are timed
once. Each measurement is timed 3 times, interleaved; the best time counts. Prints times
and ratios.

    python benchmarks/experiments.py [--users 1000000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine

from benchmarks.ingest import fresh_postgres_db
from engine.catalog.catalog import Catalog, empty_catalog
from engine.catalog.definitions import Experiment, Flow
from engine.config import Settings
from engine.experiments.assignment import choose
from engine.experiments.service import experiment_results, fold_experiments
from engine.store.db import create_db_engine
from engine.store.events import EVENT_COLUMNS
from engine.store.migrate import upgrade
from tests.support.postgres import PostgresServer

KEY = "bench"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPREAD = timedelta(days=40)  # exposures over 40 days
NOW = T0 + timedelta(days=75)  # every metric window has closed
RUNNING = T0 + SPREAD  # the last exposures are coming in: the experiment still runs
# Results are read just before the worker's next fold, when the live tails are longest.
FOLD_INTERVAL = timedelta(seconds=Settings.model_fields["experiment_fold_interval_seconds"].default)
PERSONAS = ["beginner_marketer", "power_user", "team_admin", "trial_evaluator", None]
BARE = (
    "SELECT variant, COUNT(*) FROM experiment_assignments WHERE experiment = {p} GROUP BY variant"
)


def experiment(*, primary_only: bool) -> Experiment:
    base = Experiment(key=KEY, variants={"control": 50, "tutorial_first": 50})
    return base.model_copy(update={"secondary": (), "guardrails": ()}) if primary_only else base


def catalog_for(exp: Experiment) -> Catalog:
    flow = Flow.model_validate(
        {"flow": "bench", "trigger": {"stage": "signup"}, "steps": ({"wait": "1d"},)}
    )
    return replace(empty_catalog(), flows={"bench": flow.model_copy(update={"experiment": exp})})


def rows(users: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for every seeded row, deterministic, in profile order."""
    rng = random.Random(5)
    design = experiment(primary_only=True)
    for pid in range(1, users + 1):
        exposed = T0 + SPREAD * (pid / users) + timedelta(microseconds=rng.randrange(10**6))
        persona = PERSONAS[pid % len(PERSONAS)]
        variant, bucket = choose(design, f"u{pid}")
        yield "profiles", (pid, f"u{pid}", "{}", exposed, exposed, persona, exposed, exposed)
        yield "assignments", (KEY, pid, variant, bucket, persona, exposed)
        yield "stages", (pid, "signup", exposed - timedelta(hours=1))
        if rng.random() < (0.30 if variant == "control" else 0.33):
            at = exposed + timedelta(seconds=rng.uniform(0, 20 * 86_400))
            yield "stages", (pid, "activation", at)
        for day, share in ((0, 1.0), (7, 0.3), (30, 0.1)):
            if rng.random() < share:
                at = exposed + timedelta(days=day, seconds=rng.uniform(0, 86_400))
                yield "events", _event(pid, "page", "dashboard", at)
        if rng.random() < 0.01:
            at = exposed + timedelta(days=rng.uniform(0, 25))
            yield "events", _event(pid, "track", "unsubscribed", at)


_message_ids = iter(range(1, 10**9))


def _event(pid: int, type_: str, name: str, at: datetime) -> tuple[Any, ...]:
    return (
        f"m{next(_message_ids)}",
        pid,
        type_,
        name,
        f"u{pid}",
        None,
        "{}",
        "{}",
        at,
        at,
        None,
        at,
    )


INSERTS = {
    "profiles": "INSERT INTO profiles (id, user_id, traits, first_seen_at, last_seen_at, persona,"
    " created_at, updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
    "assignments": "INSERT INTO experiment_assignments (experiment, profile_id, variant, bucket,"
    " persona, exposed_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
    "stages": "INSERT INTO stage_entries (profile_id, stage, entered_at) VALUES ({p}, {p}, {p})",
    "events": f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join(['{p}'] * 12)})",
}


def load(engine: Engine, users: int) -> None:
    """Seed through the driver: executemany on SQLite, COPY on PostgreSQL."""
    sqlite = engine.dialect.name == "sqlite"
    buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in INSERTS}
    with engine.begin() as conn:
        cursor = conn.connection.cursor()
        for table, row in rows(users):
            buffers[table].append(_sqlite_row(row) if sqlite else row)
            if len(buffers["profiles"]) >= 50_000:  # profiles first: the others refer to them
                for name, buffer in buffers.items():
                    _flush(cursor, name, buffer, sqlite)
        for name, buffer in buffers.items():
            _flush(cursor, name, buffer, sqlite)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        v.isoformat(" ", "microseconds")[:26] if isinstance(v, datetime) else v for v in row
    )


def _flush(cursor: Any, table: str, buffer: list[tuple[Any, ...]], sqlite: bool) -> None:
    if not buffer:
        return
    if sqlite:
        cursor.executemany(INSERTS[table].replace("{p}", "?"), buffer)
    else:
        head = INSERTS[table].split(" VALUES")[0].replace("INSERT INTO", "COPY")
        with cursor.copy(f"{head} FROM STDIN") as copy:
            for row in buffer:
                copy.write_row(row)
    buffer.clear()


def measure(engine: Engine) -> dict[str, float]:
    """Best of 3 interleaved runs of the bare count and the engine's results: with nothing
    folded, while the experiment runs and after it ended (each just before the worker's
    next fold); and the folds themselves, timed once."""
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    primary, full = experiment(primary_only=True), experiment(primary_only=False)

    def bare() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql(BARE.replace("{p}", placeholder), (KEY,)).all()

    def results(exp: Experiment, now: datetime) -> Callable[[], None]:
        def run() -> None:
            with engine.connect() as conn:
                experiment_results(conn, catalog_for(exp), KEY, now)

        return run

    def fold(now: datetime) -> float:
        started = time.perf_counter()
        fold_experiments(engine, catalog_for(full), now)
        return time.perf_counter() - started

    best = _best_of_3(
        {"bare": bare, "live primary": results(primary, NOW), "live full": results(full, NOW)}
    )
    phases = (("running", RUNNING), ("ended", NOW))
    for phase, now in phases:
        best[f"fold, {phase} (once)"] = fold(now - FOLD_INTERVAL)
        runs = {f"{phase} primary": results(primary, now), f"{phase} full": results(full, now)}
        best |= _best_of_3({"bare": bare, **runs}, best["bare"])
    return best


def _best_of_3(
    runs: dict[str, Callable[[], None]], best_bare: float = float("inf")
) -> dict[str, float]:
    best = dict.fromkeys(runs, float("inf")) | {"bare": best_bare}
    for _ in range(3):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def report(backend: str, users: int, best: dict[str, float]) -> None:
    bare = best["bare"]
    print(f"{backend}: {users:,} exposed users")
    for name, seconds in best.items():
        print(f"  {name:8s} {seconds * 1000:9.0f} ms   {seconds / bare:5.2f} x bare")


def bench_sqlite(users: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        started = time.perf_counter()
        load(engine, users)
        print(f"sqlite: seeded in {time.perf_counter() - started:.0f} s")
        report("sqlite", users, measure(engine))
        engine.dispose()


def bench_postgres(users: int) -> None:
    server = PostgresServer(durable=True)
    try:
        engine = create_db_engine(fresh_postgres_db(server.start(), "bench_experiments"))
        started = time.perf_counter()
        load(engine, users)
        print(f"postgresql: seeded in {time.perf_counter() - started:.0f} s")
        report("postgresql", users, measure(engine))
        engine.dispose()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        bench_sqlite(args.users)
    if args.backend in ("postgresql", "both"):
        bench_postgres(args.users)


if __name__ == "__main__":
    main()
