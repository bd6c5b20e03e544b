"""Time every dashboard page with N profiles (default 100,000) on SQLite, through TestClient.

The database is filled by `benchmarks/dashboard_data.py` (bulk inserts of a realistic
population: stage entries, events, flow runs with journey entries, deliveries, timers and
experiment assignments). The app is the real one with the dashboard router, the example
content and a frozen clock; the client logs in through the form like a browser.

Each page is timed two ways, interleaved, `--runs` times each:

    computed  `?refresh=1`: the page's aggregates recomputed by SQL, then rendered
    served    the page rendered from its snapshot (what later visitors within a minute get)

and compared with a baseline measured in the same run on the same database: one bare
`SELECT flow, status, COUNT(*) FROM flow_runs GROUP BY flow, status` through sqlite3.
Prints a Markdown table of medians and 95th percentiles.

    python benchmarks/dashboard.py [--profiles 100000] [--runs 7] [--db PATH]

With `--db PATH`, an existing file is reused as it is (filled by an earlier run); a missing
one is created and kept, so repeated runs skip the fill.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from benchmarks.dashboard_data import NOW, fill
from engine.api.app import create_app
from engine.catalog.catalog import empty_catalog, load_catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.experiments.service import fold_experiments
from engine.store.db import create_db_engine, write_transaction
from engine.store.migrate import upgrade
from engine.store.recount import rebuild
from engine.store.stages import backfill
from engine.web.endpoints import router

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "benchmark-admin-key-0123456789"
PAGES = {
    "overview": "/dashboard",
    "journey map, everyone, 30 days": "/dashboard/journey",
    "journey map, welcome, 30 days": "/dashboard/journey?flow=welcome",
    "journey map, welcome, power_user, 90 days": (
        "/dashboard/journey?flow=welcome&persona=power_user&days=90"
    ),
    "funnel and cohorts, 30 days": "/dashboard/funnel",
    "funnel and cohorts, power_user": "/dashboard/funnel?persona=power_user",
    "flow welcome, 30 days": "/dashboard/flows/welcome",
    "flow welcome, all time": "/dashboard/flows/welcome?days=0",
    "experiments": "/dashboard/experiments",
    "experiment welcome-tutorial-first": "/dashboard/experiments/welcome-tutorial-first",
    "profile search, id substring": "/dashboard/profiles?q=ser-123",
    "profile search, email": "/dashboard/profiles?q=user1234@",
    "profiles behind activation, 30 days": "/dashboard/profiles?stage=activation&days=30",
    "profiles sent the welcome email": (
        "/dashboard/profiles?flow=welcome&step=welcome-email&figure=delivered&days=30"
    ),
    "journey map as CSV": "/dashboard/journey?format=csv&table=journey",
    "profile": "/dashboard/profiles/user-1234",
}


def prepare(path: Path, profiles: int) -> None:
    if path.exists():
        print(f"reusing {path}", file=sys.stderr)
        return
    engine = create_db_engine(f"sqlite:///{path}", durable=False)
    upgrade(engine)
    started = time.perf_counter()
    counts = fill(engine, profiles)
    with write_transaction(engine) as conn:
        rebuild(conn)  # the rows went around the engine: as `parcours db recount` does,
        backfill(conn)  # count them and place them in their stages
    fold_experiments(engine, load_catalog(ROOT)[0] or empty_catalog(), NOW)  # the worker's job
    engine.dispose()
    took = time.perf_counter() - started
    print(f"filled {path} in {took:.0f} s: {counts}", file=sys.stderr)


def baseline(path: Path) -> float:
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        conn.execute(
            "SELECT flow, status, COUNT(*) FROM flow_runs GROUP BY flow, status"
        ).fetchall()
        return time.perf_counter() - started
    finally:
        conn.close()


def timed(client: TestClient, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}\n{response.text[:500]}")
    return took


def measure(
    path: Path, runs: int
) -> tuple[dict[str, tuple[list[float], list[float]]], list[float]]:
    catalog, problems = load_catalog(ROOT)
    assert catalog is not None, problems
    url = f"sqlite:///{path}"
    settings = Settings(env="test", database_url=url, admin_key=ADMIN_KEY)
    app = create_app(
        settings, engine=create_db_engine(url), clock=FrozenClock(NOW), catalog=catalog
    )
    if not any(getattr(r, "path", "") == "/dashboard/login" for r in app.routes):
        app.include_router(router)
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in PAGES}
    bases = []
    with TestClient(app) as client:
        client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
        for _ in range(runs):
            bases.append(baseline(path))
            for name, page in PAGES.items():
                joiner = "&" if "?" in page else "?"
                results[name][0].append(timed(client, f"{page}{joiner}refresh=1"))
                results[name][1].append(timed(client, page))
    return results, bases


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(results: dict[str, tuple[list[float], list[float]]], bases: list[float]) -> None:
    base = statistics.median(bases)
    print(f"baseline (bare GROUP BY over flow_runs): median {base * 1000:.0f} ms\n")
    print(
        "| page | computed median | computed p95 | ratio to baseline | served median | served p95 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (computed, served) in results.items():
        median = statistics.median(computed)
        print(
            f"| {name} | {median * 1000:.0f} ms | {p95(computed) * 1000:.0f} ms"
            f" | {median / base:.1f} | {statistics.median(served) * 1000:.1f} ms"
            f" | {p95(served) * 1000:.1f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parcours-dashboard-") as scratch:
        path = args.db or Path(scratch) / "dashboard.db"
        prepare(path, args.profiles)
        results, bases = measure(path, args.runs)
    report(results, bases)


if __name__ == "__main__":
    main()
