"""Dispatcher throughput with each sent message noted at once, against the same dispatcher
without the note (how it recorded outcomes before: once per batch).

`--emails` of the example `welcome` email (one per profile, decided by the pipeline, with the
example templates and personas) go to the file outbox through `Dispatcher.run_once`, in
batches of `--batch` (PARCOURS_DELIVERY_BATCH's default), on a durable SQLite file and/or a
durable private PostgreSQL. Both variants run on the same database, alternating, its
deliveries reset to pending before each run; each run reports emails per second, and the
ratio noted/unnoted is computed per round (the median is the figure).

    python benchmarks/dispatch.py [--emails 1500] [--batch 25] [--rounds 3]
        [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import fresh_postgres_db
from engine.catalog.catalog import Catalog, load_catalog
from engine.channels.dispatch import Dispatcher
from engine.channels.email import EmailOptions, OutboxTransport
from engine.clock import FrozenClock
from engine.flows.repository import deliveries
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import create_db_engine, write_transaction
from engine.store.migrate import upgrade
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
FLOW = "flow: f\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
OPTIONS = EmailOptions("https://onboarding.example.com", "x" * 32, "unsubscribe@example.com")


class Unnoted(Dispatcher):
    """The baseline: outcomes recorded with the batch only, nothing noted per message."""

    def _note_sent(self, delivery_id: int, claimed_at: datetime) -> None:
        pass


def populate(engine: Engine, catalog: Catalog, emails: int) -> None:
    batch = [
        MESSAGE_ADAPTER.validate_python(message)
        for i in range(emails)
        for message in (
            {
                "type": "identify",
                "userId": f"u{i}",
                "traits": {"email": f"u{i}@example.com", "first_name": f"U{i}", "company": "Lumen"},
            },
            {"type": "track", "userId": f"u{i}", "event": "go"},
        )
    ]
    with write_transaction(engine) as conn:
        process_messages(conn, catalog, batch, NOW)


def run(
    kind: type[Dispatcher], engine: Engine, catalog: Catalog, outbox: Path, batch: int
) -> float:
    """Emails per second sending every delivery, reset to pending first."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(deliveries).values(status="pending", attempts=0, sent_at=None, updated_at=NOW)
        )
        total = conn.execute(update(deliveries).values(next_attempt_at=NOW)).rowcount
    clock = FrozenClock(NOW)
    channels = {"email": OutboxTransport(outbox, "Postwave <hello@example.com>", clock)}
    dispatcher = kind(engine, lambda: catalog, channels, clock, OPTIONS)
    started = time.perf_counter()
    sent = 0
    while (attempted := dispatcher.run_once(limit=batch)) > 0:
        sent += attempted
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).where(deliveries.c.status == "sent")).scalar()
    assert sent == done == total, (sent, done, total)
    return sent / elapsed


def content(tmp: Path) -> Catalog:
    """The example templates and personas, with FLOW as the only flow."""
    for part in ("templates", "segments"):
        shutil.copytree(ROOT / part, tmp / "content" / part)
    (tmp / "content" / "flows").mkdir()
    (tmp / "content" / "flows" / "f.yaml").write_text(FLOW)
    catalog, problems = load_catalog(tmp / "content")
    assert catalog is not None, problems
    return catalog


def compare(backend: str, url: str, args: argparse.Namespace, tmp: Path) -> None:
    catalog = content(tmp / backend)
    engine = create_db_engine(url)
    upgrade(engine)
    populate(engine, catalog, args.emails)
    ratios = []
    for round_ in range(1, args.rounds + 1):
        rates = {}
        for kind in (Unnoted, Dispatcher) if round_ % 2 else (Dispatcher, Unnoted):
            rates[kind] = run(kind, engine, catalog, tmp / "outbox", args.batch)
        ratios.append(rates[Dispatcher] / rates[Unnoted])
        print(
            f"{backend:10s} round {round_}: unnoted {rates[Unnoted]:7,.0f} emails/s,"
            f" noted {rates[Dispatcher]:7,.0f} emails/s, ratio {ratios[-1]:6.1%}"
        )
    print(f"{backend:10s} median ratio noted/unnoted {statistics.median(ratios):6.1%}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        if args.backend in ("sqlite", "both"):
            compare("sqlite", f"sqlite:///{tmp / 'bench.db'}", args, tmp)
        if args.backend in ("postgresql", "both"):
            server = PostgresServer(durable=True)
            try:
                url = fresh_postgres_db(server.start(), "bench_dispatch")
                compare("postgresql", url, args, tmp)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
