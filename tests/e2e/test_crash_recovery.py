"""A worker killed with SIGKILL in the middle of a flow, then restarted, delivers every due
step exactly once, and a kill mid-batch re-sends at most one email (real `parcours worker`
processes, a real SMTP server, both backends)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from engine.catalog.catalog import load_catalog
from engine.channels.compose import message_id
from engine.channels.email import message_id_suffix
from engine.clock import SystemClock
from engine.config import Settings
from engine.flows.repository import deliveries, timers
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import write_transaction
from engine.store.installation import install_id
from tests.flows.content import content_with
from tests.support.smtp import smtp_server

USERS = 1500
FLOW = """flow: f
trigger: {event: go}
steps:
  - wait: 1h
  - email: welcome
  - tip: shortcuts
"""


def start_worker(
    db_url: str, content: Path, outbox: Path, log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PARCOURS_DATABASE_URL": db_url,
        "PARCOURS_CONTENT_DIR": str(content),
        "PARCOURS_OUTBOX_DIR": str(outbox),
        "PARCOURS_TICK_SECONDS": "0.05",
        "PARCOURS_DELIVERY_LEASE_SECONDS": "1",
        **extra,
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


KILLS = 20
EMAILS = 400
EMAIL_FLOW = "flow: f\ntrigger: {event: go}\nsteps:\n  - email: welcome\n"


def signups(count: int) -> list[Any]:
    """`count` users with an address, each sending the event that starts EMAIL_FLOW."""
    return [
        MESSAGE_ADAPTER.validate_python(message)
        for i in range(count)
        for message in (
            {
                "type": "identify",
                "userId": f"u{i}",
                "messageId": f"id-{i}",
                "traits": {"email": f"u{i}@example.com", "first_name": f"U{i}"},
            },
            {"type": "track", "userId": f"u{i}", "event": "go", "messageId": f"go-{i}"},
        )
    ]


def test_each_sigkill_mid_batch_resends_at_most_one_email(
    db_engine: Engine, db_url: str, tmp_path: Path
) -> None:
    content = content_with(tmp_path / "content", f=EMAIL_FLOW)
    catalog, problems = load_catalog(content)
    assert catalog is not None, problems
    with write_transaction(db_engine) as conn:  # the worker's wall clock finds them due
        process_messages(conn, catalog, signups(EMAILS), SystemClock().now())
    log = tmp_path / "worker.log"
    rng = random.Random(KILLS)
    with smtp_server(tmp_path) as (url, inbox, _):
        smtp = {
            "PARCOURS_EMAIL_TRANSPORT": "smtp",
            "PARCOURS_SMTP_URL": url,
            "SSL_CERT_FILE": str(tmp_path / "cert.pem"),  # trusts the server's certificate
        }
        lives = [0]  # where each worker's messages start in the inbox
        deadline = time.monotonic() + 240
        for _ in range(KILLS):
            worker = start_worker(db_url, content, tmp_path / "outbox", log, **smtp)
            wanted = len(inbox.messages) + rng.randint(1, 30)  # mid-batch, somewhere
            while len(inbox.messages) < wanted:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.002)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            lives.append(len(inbox.messages))
        last = start_worker(db_url, content, tmp_path / "outbox", log, **smtp)
        try:
            while counts(db_engine)[1] < EMAILS:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            last.send_signal(signal.SIGKILL)
            last.wait(timeout=10)
        received = [m["Message-ID"] for m in inbox.messages]

    with db_engine.connect() as conn:
        ids = conn.execute(select(deliveries.c.id)).scalars().all()
    suffix = message_id_suffix(install_id(db_engine), Settings().email_from)
    assert {message_id(i, suffix) for i in ids} == set(received)  # no loss
    bounds = [*lives, len(received)]
    resent = [  # per worker life: messages an earlier life had already sent
        sum(1 for at in range(start, end) if received[at] in received[:at])
        for start, end in pairwise(bounds)
    ]
    assert resent[0] == 0
    assert max(resent[1:]) <= 1, resent  # the kill before each life cost at most one resend
    assert len(received) - len(set(received)) == sum(resent) <= KILLS
