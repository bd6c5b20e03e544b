"""Trigger latency under steady load: from sending an event to its delivery being decided.

Flows are decided inside the ingestion transaction, so the answer to the request is also the
moment the delivery rows exist: latency = request round trip. The run:

1. measures the maximum rate of a trigger-heavy mix (new users identify and sign up, which
   enters the `signup` stage and starts `welcome` with its email and in-app steps), sending
   10-event batches as fast as one client can;
2. sends the same kind of traffic at half that rate for `--seconds`, on a fixed schedule
   (open loop: a slow answer does not slow the sender), and reports p50/p99 latency;
3. checks that every signup got its welcome delivery decided.

    python benchmarks/latency.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import WRITE_KEY, _wait_healthy
from engine.flows.repository import deliveries
from engine.store.db import create_db_engine
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parent.parent
BATCH = 10


def signups(start: int, count: int) -> list[dict[str, Any]]:
    """`count` new users, one identify and one signed_up each (5 users per 10-event batch)."""
    messages: list[dict[str, Any]] = []
    for i in range(start, start + count):
        traits = {
            "email": f"u{i}@example.com",
            "first_name": "U",
            "role": "marketer",
            "email_experience": "beginner",
        }
        messages.append({"type": "identify", "userId": f"u{i}", "traits": traits})
        messages.append({"type": "track", "userId": f"u{i}", "event": "signed_up"})
    return messages


def batches(start: int, users: int) -> list[dict[str, Any]]:
    messages = signups(start, users)
    return [{"batch": messages[i : i + BATCH]} for i in range(0, len(messages), BATCH)]


def max_rate(client: httpx.Client, bodies: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for body in bodies:
        assert client.post("/v1/batch", json=body).status_code == 200
    return len(bodies) * BATCH / (time.perf_counter() - started)


def steady(base: str, bodies: list[dict[str, Any]], per_second: float) -> list[float]:
    """Open-loop sending: request k leaves at k / per_second, whatever happened before."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def send(k: int, body: dict[str, Any], client: httpx.Client) -> None:
        time.sleep(max(0.0, start + k / per_second - time.perf_counter()))
        sent = time.perf_counter()
        assert client.post("/v1/batch", json=body).status_code == 200
        with lock:
            latencies.append(time.perf_counter() - sent)

    clients = [httpx.Client(base_url=base, auth=(WRITE_KEY, ""), timeout=30) for _ in range(8)]
    threads = []
    for k, body in enumerate(bodies):
        thread = threading.Thread(target=send, args=(k, body, clients[k % len(clients)]))
        thread.start()
        threads.append(thread)
        if len(threads) >= 64:
            threads.pop(0).join()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/latency.db"
        port = free_port()
        env = {
            **os.environ,
            "PARCOURS_DATABASE_URL": url,
            "PARCOURS_WRITE_KEYS": WRITE_KEY,
            "PARCOURS_CONTENT_DIR": str(ROOT),
            "PARCOURS_OUTBOX_DIR": f"{tmp}/outbox",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, auth=(WRITE_KEY, ""), timeout=30) as client:
                _wait_healthy(client)
                peak = max_rate(client, batches(0, 2_000))
            rate = peak / 2
            users = int(rate * args.seconds / 2)
            latencies = steady(base, batches(100_000, users), rate / BATCH)
        finally:
            server.terminate()
            server.wait(timeout=10)
        engine = create_db_engine(url)
        with engine.connect() as conn:
            decided = conn.execute(
                select(func.count())
                .select_from(deliveries)
                .where(deliveries.c.step == "welcome-email")
            ).scalar_one()
        engine.dispose()
    cuts = statistics.quantiles(latencies, n=100)
    print(f"maximum (one client, {BATCH}-event batches): {peak:,.0f} events/s")
    print(f"steady at {rate:,.0f} events/s for {args.seconds:.0f} s: {len(latencies)} requests")
    print(
        f"latency event sent -> delivery decided: p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms"
    )
    print(f"welcome emails decided: {decided:,} for {2_000 + users:,} signups")


if __name__ == "__main__":
    main()
