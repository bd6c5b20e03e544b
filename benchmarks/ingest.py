"""Ingestion throughput: events/s through `POST /v1/batch` vs a raw executemany baseline.

For each backend, in the same run:
  http  - `parcours serve` in its own process; one client sends 100-event batches the way
          the Segment SDK does (sequentially, keep-alive), each acknowledged after commit;
  raw   - the same rows inserted with the driver's executemany into the same schema,
          one transaction per 100 rows, same durability settings.
Prints both rates and their ratio (the figure to compare across machines).

    python benchmarks/ingest.py [--events 20000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.store.db import create_db_engine
from engine.store.migrate import upgrade
from tests.support.postgres import PostgresServer, free_port

BATCH = 100
EMPTY = Path(tempfile.gettempdir())  # no content folders: an empty catalog
WRITE_KEY = "bench-write-key"
EVENTS = ["email_edited", "campaign_created", "list_imported", "template_opened", "page_viewed"]


def make_batches(n_events: int, n_users: int, seed: int = 7) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    messages = []
    for i in range(n_events):
        user = f"user-{rng.randrange(n_users)}"
        messages.append(
            {
                "type": "track",
                "userId": user,
                "event": rng.choice(EVENTS),
                "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
                "timestamp": (start + timedelta(seconds=i)).isoformat(),
                "properties": {
                    "campaign_id": f"cmp_{rng.randrange(10_000)}",
                    "template": rng.choice(["newsletter", "promo", "welcome", "digest"]),
                    "list_size": rng.randrange(50, 50_000),
                    "ab_test": rng.random() < 0.3,
                    "plan": rng.choice(["trial", "starter", "pro"]),
                },
                "context": {
                    "library": {"name": "analytics-python", "version": "2.3.4"},
                    "ip": f"10.0.{rng.randrange(255)}.{rng.randrange(255)}",
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
                },
            }
        )
    return [messages[i : i + BATCH] for i in range(0, n_events, BATCH)]


def run_http(
    url: str, batches: list[list[dict[str, Any]]], clients: int, content_dir: Path = EMPTY
) -> float:
    """Events/s through the API, `clients` senders in parallel (an SDK sends one at a time)."""
    port = free_port()
    env = {
        **os.environ,
        "PARCOURS_DATABASE_URL": url,
        "PARCOURS_WRITE_KEYS": WRITE_KEY,
        "PARCOURS_CONTENT_DIR": str(content_dir),
    }
    cmd = [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    sent_at = datetime.now(UTC).isoformat()
    bodies = [orjson.dumps({"batch": b, "sentAt": sent_at}) for b in batches]
    shares = [bodies[i::clients] for i in range(clients)]
    try:
        with httpx.Client(base_url=base, timeout=30) as probe:
            _wait_healthy(probe)
        with ThreadPoolExecutor(clients) as pool:
            started = time.perf_counter()
            list(pool.map(lambda share: _send(base, share), shares))
            elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    return sum(len(b) for b in batches) / elapsed


def _send(base: str, bodies: list[bytes]) -> None:
    with httpx.Client(base_url=base, auth=(WRITE_KEY, ""), timeout=30) as client:
        for body in bodies:
            response = client.post("/v1/batch", content=body)
            assert response.status_code == 200, response.text


def _wait_healthy(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


def raw_rows(
    batches: list[list[dict[str, Any]]], profile_ids: dict[str, int]
) -> list[list[tuple[Any, ...]]]:
    """The rows the engine stores, pre-serialised, so the baseline is pure insert cost."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return [
        [
            (
                m["messageId"],
                profile_ids[m["userId"]],
                "track",
                m["event"],
                m["userId"],
                None,
                orjson.dumps(m["properties"]).decode(),
                orjson.dumps(m["context"]).decode(),
                m["timestamp"],
                m["timestamp"],
                now,
                now,
            )
            for m in batch
        ]
        for batch in batches
    ]


INSERT = (
    "INSERT INTO events (message_id, profile_id, type, name, user_id, anonymous_id, properties,"
    " context, timestamp, original_timestamp, sent_at, received_at)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
)
PROFILE = (
    "INSERT INTO profiles (user_id, traits, first_seen_at, last_seen_at, created_at, updated_at)"
    " VALUES ({p}, '{{}}', {p}, {p}, {p}, {p})"
)


def run_raw_sqlite(path: Path, batches: list[list[dict[str, Any]]], users: list[str]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    now = datetime.now(UTC).isoformat()
    conn.execute("BEGIN")
    conn.executemany(PROFILE.format(p="?"), [(u, now, now, now, now) for u in users])
    conn.execute("COMMIT")
    ids = dict(conn.execute("SELECT user_id, id FROM profiles"))
    rows = raw_rows(batches, ids)
    started = time.perf_counter()
    for batch in rows:
        conn.execute("BEGIN")
        conn.executemany(INSERT.format(p="?"), batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return sum(len(b) for b in rows) / elapsed


def run_raw_postgres(url: str, batches: list[list[dict[str, Any]]], users: list[str]) -> float:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        now = datetime.now(UTC)
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(PROFILE.format(p="%s"), [(u, now, now, now, now) for u in users])
        ids = dict(conn.execute("SELECT user_id, id FROM profiles").fetchall())
        rows = raw_rows(batches, ids)
        started = time.perf_counter()
        for batch in rows:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(INSERT.format(p="%s"), batch)
        elapsed = time.perf_counter() - started
    return sum(len(b) for b in rows) / elapsed


def fresh_postgres_db(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(
        admin_url.replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def report(backend: str, raw_rate: float, http_rates: dict[int, float]) -> None:
    print(f"{backend:10s}  raw executemany {raw_rate:9,.0f} rows/s")
    for clients, rate in http_rates.items():
        print(
            f"{'':10s}  http, {clients} client{'s' if clients > 1 else ' '} {rate:9,.0f} events/s"
            f"   ratio to raw {rate / raw_rate:5.1%}"
        )


def bench_sqlite(batches: list[list[dict[str, Any]]], users: list[str], clients: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        names = ["raw", *(f"http{c}" for c in clients)]
        for name in names:
            engine = create_db_engine(f"sqlite:///{tmp}/{name}.db")
            upgrade(engine)
            engine.dispose()
        raw = run_raw_sqlite(Path(tmp) / "raw.db", batches, users)
        http = {c: run_http(f"sqlite:///{tmp}/http{c}.db", batches, c) for c in clients}
    report("sqlite", raw, http)


def bench_postgres(
    batches: list[list[dict[str, Any]]], users: list[str], clients: list[int]
) -> None:
    server = PostgresServer(durable=True)
    try:
        admin = server.start()
        raw = run_raw_postgres(fresh_postgres_db(admin, "bench_raw"), batches, users)
        http = {
            c: run_http(fresh_postgres_db(admin, f"bench_http{c}"), batches, c) for c in clients
        }
    finally:
        server.stop()
    report("postgresql", raw, http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", default="1,4", help="parallel senders, comma-separated")
    args = parser.parse_args()
    batches = make_batches(args.events, args.users)
    users = sorted({m["userId"] for b in batches for m in b})
    print(f"{args.events:,} track events, {len(users):,} users, {BATCH} per batch, durable commits")
    clients = [int(c) for c in args.clients.split(",")]
    if args.backend in ("sqlite", "both"):
        bench_sqlite(batches, users, clients)
    if args.backend in ("postgresql", "both"):
        bench_postgres(batches, users, clients)


if __name__ == "__main__":
    main()
