"""Several workers claiming the same due timers never execute a step twice (both backends;
on PostgreSQL the claims use FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from engine.catalog.catalog import load_catalog
from engine.clock import FrozenClock
from engine.flows.repository import deliveries, timers
from engine.flows.tasks import run_due_timers
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import create_db_engine, write_transaction
from tests.flows.content import content_with

USERS = 300


def test_two_workers_share_due_timers_without_double_delivery(
    db_engine: Engine, db_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    flow = "flow: f\ntrigger: {event: go}\nsteps: [{wait: 1h}, {tip: shortcuts}]\n"
    catalog, problems = load_catalog(content_with(tmp_path / "content", f=flow))
    assert catalog is not None, problems
    batch = [
        MESSAGE_ADAPTER.validate_python(
            {"type": "track", "userId": f"u{i}", "event": "go", "messageId": f"go-{i}"}
        )
        for i in range(USERS)
    ]
    with write_transaction(db_engine) as conn:
        process_messages(conn, catalog, batch, clock.now())
    clock.advance(timedelta(hours=2))

    executed: list[int] = []
    workers = [create_db_engine(db_url) for _ in range(2)]

    def work(engine: Engine) -> None:
        executed.append(run_due_timers(engine, catalog, clock.now(), limit=25))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.dispose()

    assert sum(executed) == USERS
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(timers)).scalar() == 0
        per_run = conn.execute(
            select(deliveries.c.run_id, func.count()).group_by(deliveries.c.run_id)
        ).all()
    assert len(per_run) == USERS
    assert {count for _, count in per_run} == {1}
