"""Send pending deliveries after their transaction committed, and record each outcome.

Claiming marks rows `sending` in one short transaction, and the batch's outcomes are
recorded in one more. In between, each message sent is noted on its row at once (`sent_at`,
one small commit): a process that dies mid-batch leaves its rows `sending`, and after `LEASE`
the next claim sends those without a note and records the noted ones as sent. A crash
therefore re-sends at most the one message whose note it interrupted (recognisable by its
Message-ID), and never loses one.
Transient failures are retried with exponential backoff and full jitter (or when a 429 or
503 asks in `Retry-After`, up to LONGEST_RETRY), up to MAX_ATTEMPTS. Every failed attempt is
logged with its reason and every attempt counted (`engine.channels.metrics`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from jinja2 import TemplateError
from sqlalchemy import Connection, Engine, select

from engine.catalog.catalog import Catalog
from engine.channels.base import Channel, Message, SendResult
from engine.channels.email import EmailOptions, NotDeliverable, render_message
from engine.channels.links import email_hash
from engine.channels.metrics import DeliveryMetrics
from engine.channels.suppressions import is_suppressed
from engine.clock import Clock
from engine.flows import repository as repo
from engine.flows.counters import Counts, run_states
from engine.guardrails.service import Budget, Guardrails
from engine.ingest.repository import profiles
from engine.store.bulk import BulkWriter
from engine.store.db import write_transaction
from engine.webhooks.events import WebhookEvent, delivery_events
from engine.webhooks.retry import retry_after
from engine.webhooks.service import publish
from engine.webhooks.steps import step_message

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)


class Settled(NamedTuple):
    """A claimed delivery and what sending it produced, to be recorded."""

    row: dict[str, Any]
    values: dict[str, Any]
    journey: list[dict[str, Any]]
    events: list[WebhookEvent]


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        catalog: Callable[[], Catalog],
        channels: Mapping[str, Channel],
        clock: Clock,
        email: EmailOptions,
        rng: random.Random | None = None,
        lease: timedelta = LEASE,
        guardrails: Guardrails | None = None,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self.metrics = metrics or DeliveryMetrics()
        self.email = email
        self.guardrails = guardrails or Guardrails()
        self.lease = lease
        self.engine = engine
        self.catalog = catalog
        self.channels = channels
        self.clock = clock
        self.rng = rng or random.Random()

    def run_once(self, limit: int = 100) -> int:
        """Send what is due now; returns how many deliveries were attempted.

        One transaction claims the batch, one read decides the guardrails and suppressions,
        each message sent is noted in a small transaction of its own, and one transaction
        records every outcome (see the module docstring for a crash in between).
        """
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            ids = repo.claim_deliveries(BulkWriter(conn), now, now - self.lease, limit)
            rows = [dict(r) for r in repo.deliveries_by_id(conn, ids)]
        if not rows:
            return 0
        with self.engine.connect() as conn:
            profile_ids = {r["profile_id"] for r in rows}
            people = _people(conn, profile_ids)
            budget = self.guardrails.budget(conn, profile_ids, now)
            settled = [
                self._settle(conn, row, people, budget, now)
                for row in sorted(rows, key=self._priority_first)
            ]
        with write_transaction(self.engine) as conn:
            # A dispatcher that outlived its lease records nothing for the rows another one
            # claimed since: its late outcome would overwrite theirs and count twice.
            mine = repo.still_claimed(conn, [row["id"] for row in rows], claimed_at=now)
            settled = [s for s in settled if s.row["id"] in mine]
            journey = [entry for s in settled for entry in s.journey]
            repo.finish_deliveries(conn, [(s.row["id"], s.values) for s in settled])
            repo.add_journey(BulkWriter(conn), journey)
            outcomes = {s.row["id"]: s.values for s in settled}
            _count(conn, [s.row for s in settled], outcomes, journey)
            events = [event for s in settled for event in s.events]
            publish(conn, self.catalog(), events, self.clock.now())
        return len(rows)

    def _settle(
        self,
        conn: Connection,
        row: dict[str, Any],
        people: Mapping[int, tuple[str | None, dict[str, Any]]],
        budget: Budget,
        claimed_at: datetime,
    ) -> Settled:
        """Hold, skip or send one claimed delivery; what to record for it."""
        user_id, traits = people.get(row["profile_id"], (None, {}))
        if row["sent_at"] is not None:  # its dispatcher stopped between the send and the record
            outcome: SendResult | str = SendResult("sent")
        else:
            held = self.guardrails.hold(row, traits, claimed_at, budget)
            if held is not None:
                return Settled(row, held.values, [held.journey], [])
            outcome = self._attempt(conn, row, user_id or str(row["profile_id"]), traits)
            if isinstance(outcome, SendResult) and outcome.status == "sent":
                self._note_sent(row["id"], claimed_at)
        values = self._record(row, outcome)
        if isinstance(outcome, SendResult):
            if outcome.status == "sent":
                budget.spend(row["profile_id"], row["channel"])
            if row["sent_at"] is None:  # an attempt made now
                self._observe(row, outcome, values)
        return Settled(row, values, [], delivery_events(row, values, user_id))

    def _note_sent(self, delivery_id: int, claimed_at: datetime) -> None:
        """One small commit per message sent: what bounds a crash's resends to one. Not
        waiting for the disk: a power cut losing the note costs the batch's resend."""
        with write_transaction(self.engine, durable=False) as conn:
            repo.note_sent(BulkWriter(conn), delivery_id, claimed_at, self.clock.now())

    def _priority_first(self, row: Mapping[str, Any]) -> tuple[int, int]:
        """Higher-priority flows first, so under a frequency cap they win the budget."""
        return -self.catalog().priority_of(row["flow"]), row["id"]

    def _attempt(
        self, conn: Connection, row: Mapping[str, Any], user_id: str, traits: dict[str, Any]
    ) -> SendResult | str:
        """The channel's answer, or the reason the delivery must be skipped."""
        channel = self.channels.get(row["channel"])
        if channel is None:
            return f"no {row['channel']} channel configured"
        try:
            message = self._message(row, user_id, traits)
        except NotDeliverable as exc:
            return str(exc)
        except TemplateError as exc:
            return SendResult("failed", f"template error: {exc}")
        if message.channel == "email" and is_suppressed(conn, email_hash(message.recipient)):
            return "suppressed (unsubscribed)"
        try:
            return channel.send(message)
        except Exception as exc:  # a channel bug is a transient failure, never a crash
            log.exception("channel %s raised", row["channel"])
            return SendResult("retry", f"{type(exc).__name__}: {exc}")

    def _message(self, row: Mapping[str, Any], user_id: str, traits: dict[str, Any]) -> Message:
        catalog = self.catalog()
        if row["channel"] == "email":
            flow = catalog.flows.get(row["flow"])
            return render_message(
                catalog,
                self.email,
                row["id"],
                row["content"],
                user_id,
                traits,
                tracking=flow is not None and flow.tracking,
            )
        endpoint = catalog.endpoints.get(row["content"])
        if endpoint is None:
            raise NotDeliverable(f"endpoint '{row['content']}' is no longer in the catalog")
        return step_message(endpoint, row, user_id, traits)

    def _record(self, row: Mapping[str, Any], outcome: SendResult | str) -> dict[str, Any]:
        now = self.clock.now()
        attempts = row["attempts"] + 1
        base = {"attempts": attempts, "updated_at": now, "next_attempt_at": None}
        if isinstance(outcome, str):
            return base | {"status": "skipped", "reason": outcome, "attempts": row["attempts"]}
        if outcome.status == "sent":
            return base | {"status": "sent", "sent_at": row["sent_at"] or now, "reason": None}
        if outcome.status == "retry" and attempts < MAX_ATTEMPTS:
            asked = retry_after(outcome.retry_after, now)
            wait = self.backoff(attempts) if asked is None else min(asked, LONGEST_RETRY)
            retry_at = now + wait
            return base | {
                "status": "retrying",
                "reason": outcome.detail,
                "next_attempt_at": retry_at,
            }
        if outcome.status == "retry":
            outcome = SendResult("failed", f"gave up after {attempts} attempts: {outcome.detail}")
        return base | {"status": "failed", "reason": outcome.detail}

    def _observe(
        self, row: Mapping[str, Any], outcome: SendResult, values: Mapping[str, Any]
    ) -> None:
        """Count the attempt; log a failed one with its reason (the provider's words)."""
        channel = row["channel"]
        self.metrics.attempts.labels(channel, outcome.status).inc()
        if outcome.status == "sent":
            return
        then = values["next_attempt_at"]
        log.warning(
            "%s delivery %s failed: flow %s, step %s, attempt %d: %s; %s",
            channel,
            row["id"],
            row["flow"],
            row["step"],
            values["attempts"],
            values["reason"],
            f"next attempt at {then.isoformat()}" if then is not None else "given up",
        )
        if values["status"] == "failed":
            self.metrics.failed.labels(channel).inc()

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1))."""
        ceiling = min(LONGEST_RETRY, FIRST_RETRY * 2 ** (attempts - 1))
        return timedelta(seconds=self.rng.uniform(0.5, 1.0) * ceiling.total_seconds())


def _count(
    conn: Connection,
    rows: list[dict[str, Any]],
    outcomes: dict[int, dict[str, Any]],
    journey: list[dict[str, Any]],
) -> None:
    """The flow page's counters of the deliveries settled and the entries noted here."""
    runs = run_states(conn, {row["run_id"] for row in rows})
    counts = Counts()
    counts.deliveries((row | outcomes.get(row["id"], {}) for row in rows), runs)
    counts.journey(journey, runs)
    counts.write(conn)


def _people(conn: Connection, ids: set[int]) -> dict[int, tuple[str | None, dict[str, Any]]]:
    query = select(profiles.c.id, profiles.c.user_id, profiles.c.traits)
    return {
        pid: (uid, traits) for pid, uid, traits in conn.execute(query.where(profiles.c.id.in_(ids)))
    }
