"""Cost of stage and segment evaluation at ingestion: the example catalog vs no catalog.

Same events, same run, both through `POST /v1/batch` on a fresh database each: a mix of
identify calls and the product events the example stages and personas read. Prints both
rates and their ratio.

    python benchmarks/audience.py [--events 20000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import BATCH, fresh_postgres_db, run_http
from engine.store.db import create_db_engine
from engine.store.migrate import upgrade
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
EVENTS = [
    ("page_viewed", {}),
    ("signed_up", {}),
    ("logged_in", {}),
    ("campaign_created", {}),
    ("campaign_sent", {"is_test": False}),
    ("campaign_sent", {"is_test": True}),
    ("shortcut_used", {}),
    ("template_saved", {}),
    ("teammate_invited", {}),
    ("integration_connected", {}),
    ("email_edited", {}),
]
TRAITS = [
    {"role": "marketing_manager", "email_experience": "beginner", "plan": "trial"},
    {"role": "admin", "email_experience": "intermediate", "company": {"employee_count": 80}},
    {"role": "founder", "email_experience": "expert", "plan": "pro"},
    {"role": "designer", "plan": "trial", "email": "x@gmail.com"},
]


def make_batches(n_events: int, n_users: int, seed: int = 11) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    messages: list[dict[str, Any]] = []
    for i in range(n_events):
        user = f"user-{rng.randrange(n_users)}"
        base = {
            "userId": user,
            "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
            "timestamp": (start + timedelta(seconds=i)).isoformat(),
        }
        if rng.random() < 0.1:
            messages.append({**base, "type": "identify", "traits": rng.choice(TRAITS)})
        else:
            name, properties = rng.choice(EVENTS)
            messages.append({**base, "type": "track", "event": name, "properties": properties})
    return [messages[i : i + BATCH] for i in range(0, n_events, BATCH)]


def compare(backend: str, urls: dict[str, str], batches: list[list[dict[str, Any]]]) -> None:
    bare = run_http(urls["empty"], batches, 1)
    full = run_http(urls["catalog"], batches, 1, content_dir=ROOT)
    print(
        f"{backend:10s}  no catalog {bare:9,.0f} events/s   example catalog {full:9,.0f} events/s"
        f"   ratio {full / bare:5.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    batches = make_batches(args.events, args.users)
    print(f"{args.events:,} events (10% identify), {args.users:,} users, {BATCH} per batch")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            urls = {name: f"sqlite:///{tmp}/{name}.db" for name in ("empty", "catalog")}
            for url in urls.values():
                engine = create_db_engine(url)
                upgrade(engine)
                engine.dispose()
            compare("sqlite", urls, batches)
    if args.backend in ("postgresql", "both"):
        server = PostgresServer(durable=True)
        try:
            admin = server.start()
            urls = {
                name: fresh_postgres_db(admin, f"bench_{name}") for name in ("empty", "catalog")
            }
            compare("postgresql", urls, batches)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
