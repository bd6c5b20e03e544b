"""A worker killed with SIGKILL in the middle of a flow, then restarted, delivers every due
step exactly once (real `parcours worker` processes, both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from engine.catalog.catalog import load_catalog
from engine.clock import SystemClock
from engine.flows.repository import deliveries, timers
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import write_transaction
from tests.flows.content import content_with

USERS = 1500
FLOW = """flow: f
trigger: {event: go}
steps:
  - wait: 1h
  - email: welcome
  - tip: shortcuts
"""


def start_worker(db_url: str, content: Path, outbox: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PARCOURS_DATABASE_URL": db_url,
        "PARCOURS_CONTENT_DIR": str(content),
        "PARCOURS_OUTBOX_DIR": str(outbox),
        "PARCOURS_TICK_SECONDS": "0.05",
        "PARCOURS_DELIVERY_LEASE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "engine.cli", "worker"]
    with log.open("ab") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=sink)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        waiting = conn.execute(select(func.count()).select_from(timers)).scalar_one()
        sent = conn.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.status == "sent")
        ).scalar_one()
    return waiting, sent


def test_sigkill_mid_flow_then_restart_delivers_each_step_once(
    db_engine: Engine, db_url: str, tmp_path: Path
) -> None:
    content = content_with(tmp_path / "content", f=FLOW)
    catalog, problems = load_catalog(content)
    assert catalog is not None, problems
    # The worker runs on the wall clock, so "due" is relative to its reading.
    two_hours_ago = SystemClock().now() - timedelta(hours=2)
    batch = [
        MESSAGE_ADAPTER.validate_python(
            {
                "type": "identify",
                "userId": f"u{i}",
                "messageId": f"id-{i}",
                "traits": {"email": f"u{i}@example.com", "first_name": f"U{i}"},
            }
        )
        for i in range(USERS)
    ] + [
        MESSAGE_ADAPTER.validate_python(
            {"type": "track", "userId": f"u{i}", "event": "go", "messageId": f"go-{i}"}
        )
        for i in range(USERS)
    ]
    with write_transaction(db_engine) as conn:
        process_messages(conn, catalog, batch, two_hours_ago)  # every timer is now due
    outbox = tmp_path / "outbox"

    log = tmp_path / "worker.log"
    first = start_worker(db_url, content, outbox, log)
    deadline = time.monotonic() + 60
    while not (outbox.exists() and any(outbox.glob("*.eml"))):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)  # mid-flow: some emails written, most not
    first.wait(timeout=10)
    assert counts(db_engine) != (0, 2 * USERS)

    second = start_worker(db_url, content, outbox, log)
    try:
        while counts(db_engine) != (0, 2 * USERS):
            assert time.monotonic() < deadline + 60, log.read_text()
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)

    with db_engine.connect() as conn:
        per_step = conn.execute(
            select(
                deliveries.c.step, func.count(), func.count(func.distinct(deliveries.c.run_id))
            ).group_by(deliveries.c.step)
        ).all()
    assert sorted(per_step) == [("steps.1", USERS, USERS), ("steps.2", USERS, USERS)]
    files = list(outbox.glob("*.eml"))
    assert len(files) == USERS  # one file per email delivery, even if one was re-sent
