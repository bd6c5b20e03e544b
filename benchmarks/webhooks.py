"""Webhook delivery throughput: outbox messages/s sent to a local receiver vs bare httpx.

For each backend, in the same run and against the same receiver (uvicorn, in its own
process, answering 204 at once):
  bare    - a plain `httpx.Client` POST loop (keep-alive) of bodies of the same size;
  engine  - `send_due_webhooks` draining N queued messages: claim in batches, resolve the
            endpoint and its secret, sign (Standard Webhooks), POST through the SSRF-guarded
            client, read the answer's excerpt, record outcome and attempt log rows.
Prints both rates and their ratio (the figure to compare across machines), and the rate at
which `publish` queues messages inside a transaction. The engine runs with 1 request in
flight (like the bare loop) and with 8 (its default). A second receiver answers after
`--delay-ms` (20 ms), as a remote one would: there concurrency, not CPU, sets the rate.

    python benchmarks/webhooks.py [--messages 5000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import fresh_postgres_db  # noqa: E402
from engine.catalog.catalog import empty_catalog  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.store.db import create_db_engine, write_transaction  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.webhooks.events import WebhookEvent  # noqa: E402
from engine.webhooks.schemas import EndpointCreate  # noqa: E402
from engine.webhooks.sender import WebhookSender  # noqa: E402
from engine.webhooks.service import create_endpoint, publish  # noqa: E402
from engine.webhooks.tasks import send_due_webhooks  # noqa: E402
from tests.support.postgres import PostgresServer, free_port  # noqa: E402

BATCH = 100


DELAY = float(os.environ.get("BENCH_RECEIVER_DELAY_MS", "0")) / 1000


async def receiver_app(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
    """The cheapest well-behaved receiver: read the body, (wait,) answer 204."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if DELAY:
        await asyncio.sleep(DELAY)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def start_receiver(delay_ms: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {"BENCH_RECEIVER_DELAY_MS": str(delay_ms)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.webhooks:receiver_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/hook"
    deadline = time.monotonic() + 20
    with httpx.Client() as client:
        while True:
            try:
                client.post(url, content=b"{}")
                return process, url
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def body_of(i: int) -> dict[str, Any]:
    data = {"stage": "activation", "plan": "pro", "company": "Studio Lumen", "seq": i}
    return {"user_id": f"user-{i % 1000}", **data}


def run_bare(url: str, n: int, concurrency: int) -> float:
    """Requests/s of a plain httpx client, `concurrency` threads sharing it."""
    bodies = [orjson.dumps({"type": "stage.entered", "data": body_of(i)}) for i in range(n)]
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=10.0) as client, ThreadPoolExecutor(concurrency) as pool:

        def post(body: bytes) -> None:
            client.post(url, content=body, headers=headers).raise_for_status()

        started = time.perf_counter()
        list(pool.map(post, bodies))
        return n / (time.perf_counter() - started)


def run_engine(db_url: str, url: str, n: int, concurrency: int) -> tuple[float, float]:
    """(messages queued per second by `publish`, messages sent per second)."""
    engine = create_db_engine(db_url)
    clock, catalog = SystemClock(), empty_catalog()
    with write_transaction(engine) as conn:
        create_endpoint(conn, EndpointCreate(url=url, events=["stage.*"]), clock.now())
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        events = [
            WebhookEvent("stage.entered", f"user-{i % 1000}", body_of(i))
            for i in range(start, min(n, start + BATCH))
        ]
        with write_transaction(engine) as conn:
            publish(conn, catalog, events, clock.now())
    queued = n / (time.perf_counter() - started)
    sent = 0
    with WebhookSender.create(allow_private=True, concurrency=concurrency) as sender:
        started = time.perf_counter()
        while (batch := send_due_webhooks(engine, catalog, sender, clock)) > 0:
            sent += batch
        rate = sent / (time.perf_counter() - started)
    engine.dispose()
    assert sent == n, (sent, n)
    return queued, rate


def bench(backend: str, db_url: Callable[[str], str], receivers: dict[int, str], n: int) -> None:
    """Per receiver: the bare loop before and after the engine runs (the machine drifts)."""
    print(backend)
    for delay, url in receivers.items():
        count = n if delay == 0 else max(200, n // 10)
        before = run_bare(url, count, 1)
        runs = {c: run_engine(db_url(f"d{delay}c{c}"), url, count, c) for c in (1, 8)}
        bare = (before + run_bare(url, count, 1)) / 2
        print(f"  receiver answering in {delay} ms: bare httpx loop {bare:7,.0f} requests/s")
        for concurrency, (queued, sent) in runs.items():
            print(
                f"    engine, {concurrency} in flight: {sent:7,.0f} messages/s, ratio"
                f" {sent / bare:6.1%}; publish queued {queued:,.0f} messages/s"
            )


def fresh_sqlite_db(directory: str, name: str) -> str:
    url = f"sqlite:///{directory}/{name}.db"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--delay-ms", type=int, default=20, help="the slow receiver's latency")
    args = parser.parse_args()
    print(f"{args.messages:,} webhook messages, one endpoint, signed, durable commits")
    started = {delay: start_receiver(delay) for delay in (0, args.delay_ms)}
    receivers = {delay: url for delay, (_, url) in started.items()}
    try:
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                bench("sqlite", lambda name: fresh_sqlite_db(tmp, name), receivers, args.messages)
        if args.backend in ("postgresql", "both"):
            server = PostgresServer(durable=True)
            try:
                admin = server.start()
                bench(
                    "postgresql",
                    lambda name: fresh_postgres_db(admin, f"bench_webhooks_{name}"),
                    receivers,
                    args.messages,
                )
            finally:
                server.stop()
    finally:
        for process, _ in started.values():
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
