"""Send due outbox messages after their transaction committed, and log every attempt.

Claiming marks a batch of messages `sending` in one short transaction; the batch is sent
`concurrency` requests at a time and its outcomes are written in one more. A worker that
dies mid-send leaves messages in `sending`; after the lease they are claimed again, so a
crash costs at most a resend with the same `webhook-id` (receivers drop it), never a lost
message. Failures are retried with backoff, or when a 429 or 503 asks in `Retry-After`
(`retry.py`); a message that fails permanently or too often is dead until replayed through
the API. Each failed attempt is logged (never with the answer's body) and every attempt is
counted in the Prometheus metrics (`engine.channels.metrics`).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from engine.catalog.catalog import Catalog
from engine.channels.metrics import DeliveryMetrics
from engine.clock import Clock
from engine.store.bulk import BulkWriter
from engine.store.db import write_transaction
from engine.webhooks import repository as repo
from engine.webhooks.retry import LONGEST_RETRY, MAX_ATTEMPTS, next_wait, retry_after
from engine.webhooks.sender import EXCERPT_CHARS, Attempt, WebhookSender
from engine.webhooks.targets import EndpointGone, SecretUnavailable, message_target

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
# Outcomes are written at least this often (seconds) while a batch is being sent.
FLUSH_SECONDS = 2.0


def send_due_webhooks(
    engine: Engine,
    catalog: Catalog,
    sender: WebhookSender,
    clock: Clock,
    *,
    limit: int = 100,
    max_attempts: int = MAX_ATTEMPTS,
    rng: random.Random | None = None,
    lease: timedelta = LEASE,
    environ: Mapping[str, str] | None = None,
    longest_wait: timedelta = LONGEST_RETRY,
    metrics: DeliveryMetrics | None = None,
) -> int:
    """Send up to `limit` due messages; returns how many were attempted (0: none due).

    `longest_wait` caps both the backoff and a receiver's `Retry-After`.
    """
    now = clock.now()
    with write_transaction(engine) as conn:
        ids = repo.claim_messages(BulkWriter(conn), now, now - lease, limit)
        if not ids:
            return 0
        rows = repo.messages_by_id(conn, ids)
        wanted = {r["endpoint_id"] for r in rows if r["endpoint_id"] is not None}
        api = {r["id"]: r for r in repo.api_endpoints(conn, wanted)} if wanted else {}
    attempt = partial(
        _attempt, catalog, api, os.environ if environ is None else environ, sender, clock
    )
    retries = Retries(rng or random.Random(), max_attempts, longest_wait)
    outcomes = _Outcomes(engine, clock, ids, retries, metrics or DeliveryMetrics())
    outcomes.written_at = sender.stopwatch()
    for done in sender.imap(attempt, rows):
        outcomes.add(done, sender.stopwatch())
    outcomes.write()
    return len(rows)


def _attempt(
    catalog: Catalog,
    api: Mapping[int, Mapping[Any, Any]],
    environ: Mapping[str, str],
    sender: WebhookSender,
    clock: Clock,
    row: Mapping[Any, Any],
) -> tuple[Mapping[Any, Any], Attempt, datetime]:
    """Send one message as its endpoint is configured now (runs in the sender's threads)."""
    at = clock.now()
    try:
        target = message_target(row, catalog, api, environ, at)
    except SecretUnavailable as exc:
        return row, Attempt("retry", error=str(exc)), at
    except EndpointGone as exc:
        return row, Attempt("failed", error=str(exc)), at
    try:
        return row, sender.deliver(target.url, row["message_id"], row["payload"], target.keys), at
    except Exception as exc:  # a bug while sending is a transient failure, never a crash
        log.exception("webhook message %s could not be sent", row["message_id"])
        return row, Attempt("retry", error=f"{type(exc).__name__}: {exc}"), at


Done = tuple[Mapping[Any, Any], Attempt, datetime]


@dataclass(frozen=True)
class Retries:
    """How failed attempts are retried."""

    rng: random.Random
    max_attempts: int
    longest: timedelta


class _Outcomes:
    """Outcomes of a claimed batch, written every FLUSH_SECONDS and at the end.

    Each write also renews the lease of the batch's messages not sent yet, so however slow
    the receivers, no other worker takes them over while this one is still on them; and a
    fast batch costs one commit, not one per message.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        ids: list[int],
        retries: Retries,
        metrics: DeliveryMetrics,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.waiting = set(ids)
        self.retries = retries
        self.metrics = metrics
        self.done: list[Done] = []
        self.written_at = 0.0  # stopwatch seconds

    def add(self, done: Done, now: float) -> None:
        self.done.append(done)
        self.waiting.discard(done[0]["id"])
        if now - self.written_at >= FLUSH_SECONDS:
            self.write()
            self.written_at = now

    def write(self) -> None:
        with write_transaction(self.engine) as conn:
            alive = repo.existing_messages(conn, [row["id"] for row, _, _ in self.done])
            kept = [item for item in self.done if item[0]["id"] in alive]
            writer = BulkWriter(conn)
            states = [_next_state(*item, self.retries) for item in kept]
            repo.finish_messages(writer, states)
            repo.add_attempts(
                writer,
                [
                    attempt_row(attempt, at, row["message_id"], row["event_type"], row)
                    | {"message_id": row["id"], "delivery_id": None}
                    for row, attempt, at in kept
                ],
            )
            repo.renew_lease(conn, self.waiting, self.clock.now())
        for (_, attempt, _), state in zip(kept, states, strict=True):
            self.metrics.webhook_attempts.labels(attempt.outcome).inc()
            if state["status"] == "dead":
                self.metrics.webhook_dead_letters.inc()
        self.done = []


def _next_state(
    row: Mapping[Any, Any], attempt: Attempt, at: datetime, retries: Retries
) -> dict[str, Any]:
    attempts = row["attempts"] + 1
    state: dict[str, Any] = {
        "id": row["id"],
        "attempts": attempts,
        "updated_at": at,
        "next_attempt_at": None,
        "delivered_at": None,
        "last_error": None,
    }
    if attempt.outcome == "sent":
        return state | {"status": "delivered", "delivered_at": at}
    if attempt.outcome == "retry" and attempts < retries.max_attempts:
        asked = retry_after(attempt.retry_after, at)
        retry_at = at + next_wait(attempts, retries.rng, asked, retries.longest)
        log.warning(
            "webhook attempt failed: endpoint %s, message %s, attempt %d: %s; next attempt at %s",
            _endpoint(row),
            row["message_id"],
            attempts,
            attempt.why,
            retry_at.isoformat(),
        )
        return state | {
            "status": "retrying",
            "next_attempt_at": retry_at,
            "last_error": _cut(attempt.detail),
        }
    gave_up = f"gave up after {attempts} attempts: " if attempt.outcome == "retry" else ""
    log.warning(
        "webhook attempt failed: endpoint %s, message %s, attempt %d: %s%s; dead-lettered",
        _endpoint(row),
        row["message_id"],
        attempts,
        gave_up,
        attempt.why,
    )
    return state | {"status": "dead", "last_error": _cut(gave_up + attempt.detail)}


def _endpoint(row: Mapping[Any, Any]) -> str:
    """An endpoint as logs name it: the API endpoint's id, or the content endpoint's name."""
    if row["endpoint_id"] is not None:
        return f"#{row['endpoint_id']}"
    return str(row["endpoint_name"])


def attempt_row(
    attempt: Attempt, at: datetime, webhook_id: str, event_type: str, endpoint: Mapping[Any, Any]
) -> dict[str, Any]:
    """An attempt log row (without message_id / delivery_id, which the caller adds)."""
    return {
        "endpoint_id": endpoint["endpoint_id"],
        "endpoint_name": endpoint["endpoint_name"],
        "webhook_id": webhook_id,
        "event_type": event_type,
        "attempted_at": at,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "response": attempt.response[:EXCERPT_CHARS] or None,
        "error": _cut(attempt.error),
    }


def _cut(text: str | None) -> str | None:
    return None if text is None else text[:500]


KEEP = timedelta(days=30)


def purge_webhook_history(engine: Engine, clock: Clock, keep: timedelta = KEEP) -> int:
    """Forget finished messages and attempt logs older than `keep` (a daily job): the
    outbox and the log would otherwise grow with every event. Returns the messages and
    flow-step attempts deleted (a message takes its attempts with it)."""
    deleted = 0
    while True:
        with write_transaction(engine) as conn:
            batch = repo.purge(conn, clock.now() - keep, 1000)
        deleted += batch
        if batch == 0:
            return deleted


class StepAttemptLog:
    """Adds flow `webhook` step attempts to their content endpoint's delivery log.

    Written in its own short transaction after the attempt; a failure to log is logged and
    never turns a sent webhook into a failed delivery.
    """

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, endpoint: str, delivery_id: int, webhook_id: str, attempt: Attempt) -> None:
        ref = {"endpoint_id": None, "endpoint_name": endpoint}
        row = attempt_row(attempt, self.clock.now(), webhook_id, "flow.step", ref)
        try:
            with write_transaction(self.engine) as conn:
                step = row | {"message_id": None, "delivery_id": delivery_id}
                repo.add_attempts(BulkWriter(conn), [step])
        except SQLAlchemyError:
            log.exception("could not log the webhook attempt of delivery %s", delivery_id)
