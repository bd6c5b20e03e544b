"""The dispatcher against both databases: retries with backoff, permanent failures, a crash
mid-send, and a step never delivered twice."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine.catalog.catalog import Catalog, load_catalog
from engine.channels.base import Message, SendResult
from engine.channels.dispatch import LEASE, LONGEST_RETRY, MAX_ATTEMPTS, Dispatcher
from engine.channels.email import EmailOptions
from engine.clock import FrozenClock
from engine.flows import repository as repo
from engine.flows.repository import deliveries
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.bulk import BulkWriter
from engine.store.db import write_transaction
from engine.store.recount import delivery_counts
from tests.flows.content import content_with


@dataclass
class ScriptedChannel:
    """Answers with a scripted list of results, then `sent`."""

    script: list[SendResult] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> SendResult:
        self.sent.append(message)
        return self.script.pop(0) if self.script else SendResult("sent", "ok")


@pytest.fixture
def webhook_catalog(tmp_path: Path) -> Catalog:
    flow = "flow: f\ntrigger: {event: go}\nsteps: [{webhook: crm}]\n"
    catalog, problems = load_catalog(content_with(tmp_path / "content", f=flow))
    assert catalog is not None, problems
    return catalog


def go(engine: Engine, catalog: Catalog, clock: FrozenClock, user: str = "u") -> None:
    message = MESSAGE_ADAPTER.validate_python(
        {"type": "track", "userId": user, "event": "go", "messageId": f"go-{user}"}
    )
    with write_transaction(engine) as conn:
        process_messages(conn, catalog, [message], clock.now())


def status(engine: Engine) -> tuple[str, int, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(deliveries)).mappings().one()
    return row["status"], row["attempts"], row["reason"]


def dispatcher(
    engine: Engine, catalog: Catalog, channel: ScriptedChannel, clock: FrozenClock
) -> Dispatcher:
    options = EmailOptions(
        "https://p.example", "link-secret", "unsubscribe@p.example", "t@p.example"
    )
    return Dispatcher(
        engine, lambda: catalog, {"webhook": channel}, clock, options, random.Random(1)
    )


def test_transient_failures_are_retried_with_backoff(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    channel = ScriptedChannel([SendResult("retry", "HTTP 503"), SendResult("retry", "HTTP 503")])
    d = dispatcher(db_engine, webhook_catalog, channel, clock)
    go(db_engine, webhook_catalog, clock)
    assert d.run_once() == 1
    assert status(db_engine) == ("retrying", 1, "HTTP 503")
    assert d.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=30))
    assert d.run_once() == 1
    assert status(db_engine) == ("retrying", 2, "HTTP 503")
    clock.advance(timedelta(seconds=60))
    assert d.run_once() == 1
    assert status(db_engine) == ("sent", 3, None)
    assert channel.sent[0].payload["data"]["user_id"] == "u"


def test_backoff_grows_exponentially_with_jitter_and_a_cap(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    d = dispatcher(db_engine, webhook_catalog, ScriptedChannel(), clock)
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (12, 6 * 3600)]:
        waits = [d.backoff(attempt).total_seconds() for _ in range(200)]
        assert ceiling / 2 <= min(waits)
        assert max(waits) <= ceiling


def test_permanent_failure_and_giving_up_are_recorded(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    channel = ScriptedChannel([SendResult("retry", "timeout")] * MAX_ATTEMPTS)
    d = dispatcher(db_engine, webhook_catalog, channel, clock)
    go(db_engine, webhook_catalog, clock)
    for _ in range(MAX_ATTEMPTS):
        d.run_once()
        clock.advance(timedelta(hours=7))
    state, attempts, reason = status(db_engine)
    assert (state, attempts) == ("failed", MAX_ATTEMPTS)
    assert reason == f"gave up after {MAX_ATTEMPTS} attempts: timeout"


def test_a_delivery_stuck_in_sending_is_retried_after_the_lease(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    channel = ScriptedChannel()
    d = dispatcher(db_engine, webhook_catalog, channel, clock)
    go(db_engine, webhook_catalog, clock)
    with write_transaction(db_engine) as conn:  # a process claims it, then dies
        assert len(repo.claim_deliveries(BulkWriter(conn), clock.now(), clock.now(), 10)) == 1
    assert d.run_once() == 0
    clock.advance(LEASE + timedelta(seconds=1))
    assert d.run_once() == 1
    assert status(db_engine)[0] == "sent"
    assert len(channel.sent) == 1


def test_a_step_is_delivered_once_however_often_it_is_triggered(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    channel = ScriptedChannel()
    d = dispatcher(db_engine, webhook_catalog, channel, clock)
    for _ in range(3):
        go(db_engine, webhook_catalog, clock)  # same messageId: a retried event
    while d.run_once():
        pass
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar() == 1
    assert len(channel.sent) == 1


@dataclass
class OvertakenChannel:
    """Sends so slowly that the lease runs out: meanwhile another dispatcher takes the
    delivery over and sends it, then this send fails."""

    clock: FrozenClock
    other: Dispatcher | None = None

    def send(self, message: Message) -> SendResult:
        assert self.other is not None
        self.clock.advance(LEASE + timedelta(seconds=1))
        assert self.other.run_once() == 1
        return SendResult("failed", "HTTP 500 (too late)")


def test_a_dispatcher_that_outlived_its_lease_records_nothing(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    slow = OvertakenChannel(clock)
    late = dispatcher(db_engine, webhook_catalog, slow, clock)  # type: ignore[arg-type]
    slow.other = dispatcher(db_engine, webhook_catalog, ScriptedChannel(), clock)
    go(db_engine, webhook_catalog, clock)
    assert late.run_once() == 1
    assert status(db_engine) == ("sent", 1, None)  # the other dispatcher's outcome stands
    with db_engine.connect() as conn:
        counted = conn.execute(select(delivery_counts.c.status, delivery_counts.c.deliveries))
        assert [tuple(row) for row in counted] == [("sent", 1)]


@dataclass
class DyingChannel:
    """Sends `sends` messages, then the process dies (as under SIGKILL: nothing after runs)."""

    sends: int
    sent: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> SendResult:
        if len(self.sent) == self.sends:
            raise KeyboardInterrupt  # not an Exception: the dispatcher cannot catch it
        self.sent.append(message)
        return SendResult("sent", "ok")


def test_a_dispatcher_dying_mid_batch_resends_nothing_it_had_sent(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    for user in ("u1", "u2", "u3"):
        go(db_engine, webhook_catalog, clock, user)
    dying = DyingChannel(sends=2)
    sent_at = clock.now()
    with pytest.raises(KeyboardInterrupt):
        dispatcher(db_engine, webhook_catalog, dying, clock).run_once()  # type: ignore[arg-type]

    clock.advance(LEASE + timedelta(seconds=1))
    after = ScriptedChannel()
    assert dispatcher(db_engine, webhook_catalog, after, clock).run_once() == 3
    assert [m.delivery_id for m in dying.sent + after.sent] == [1, 2, 3]  # each sent once
    with db_engine.connect() as conn:
        rows = conn.execute(select(deliveries).order_by(deliveries.c.id)).mappings().all()
        counted = conn.execute(select(delivery_counts.c.status, delivery_counts.c.deliveries))
        assert [tuple(row) for row in counted] == [("sent", 3)]
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)] * 3
    assert [r["sent_at"] for r in rows[:2]] == [sent_at, sent_at]  # when it really left
    assert rows[2]["sent_at"] == clock.now()


def test_a_retry_after_asked_by_the_receiver_sets_the_next_attempt(
    db_engine: Engine, webhook_catalog: Catalog, clock: FrozenClock
) -> None:
    asks = [SendResult("retry", "HTTP 429", "120"), SendResult("retry", "HTTP 503", "999999")]
    d = dispatcher(db_engine, webhook_catalog, ScriptedChannel(asks), clock)
    go(db_engine, webhook_catalog, clock)

    def next_attempt() -> object:
        with db_engine.connect() as conn:
            return conn.execute(select(deliveries.c.next_attempt_at)).scalar_one()

    assert d.run_once() == 1
    assert next_attempt() == clock.now() + timedelta(minutes=2)  # not the 30 s backoff
    clock.advance(timedelta(minutes=2))
    assert d.run_once() == 1
    assert next_attempt() == clock.now() + LONGEST_RETRY  # asked 11 days: capped
