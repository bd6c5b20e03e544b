"""What the worker adds to Prometheus: job timings as they happen, and the state of the work
queued in the database, read by one cheap query per gauge at scrape time. (Delivery and
webhook attempts and dead letters are counted where they happen: engine.channels.metrics.)"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import wraps
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.exc import SQLAlchemyError

from engine.clock import Clock
from engine.flows.repository import deliveries, timers
from engine.webhooks.repository import messages

log = logging.getLogger(__name__)

# Rows waiting for a worker: due (held and backed-off rows are not yet) and not claimed.
WAITING = ("pending", "retrying")

T = TypeVar("T")


class JobMetrics:
    """Durations and failures of each periodic job (the APScheduler job id as `job`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.durations = Histogram(
            "parcours_job_duration_seconds",
            "Run time of each periodic job",
            ["job"],
            registry=registry,
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
        )
        self.failures = Counter(
            "parcours_job_failures", "Periodic job runs that raised", ["job"], registry=registry
        )

    def timed(self, job: Callable[[T], None]) -> Callable[[T], None]:
        """`job`, timed and with its failure counted (and logged, then raised again for
        APScheduler, which logs and keeps scheduling it)."""
        name = job.__name__

        @wraps(job)
        def run(argument: T) -> None:
            started = time.perf_counter()
            try:
                job(argument)
            except Exception:
                self.failures.labels(name).inc()
                raise
            finally:
                self.durations.labels(name).observe(time.perf_counter() - started)

        return run


class QueueCollector(Collector):
    """Gauges over the queued work, from the database at each scrape."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now()
        up = GaugeMetricFamily("parcours_queue_readable", "1 when the gauges below could be read")
        try:
            with self.engine.connect() as conn:
                families = [*_backlog(conn, now), _timer_lag(conn, now)]
        except SQLAlchemyError as exc:
            log.warning("metrics: cannot read the queues (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _backlog(conn: Connection, now: datetime) -> list[GaugeMetricFamily]:
    """Rows due and not sent, and how long the oldest has waited since it was due: a
    growing age means the workers fall behind (quiet hours and backoff do not count)."""
    backlog = GaugeMetricFamily(
        "parcours_outbox_backlog", "Rows due and not sent yet, by outbox", labels=["outbox"]
    )
    age = GaugeMetricFamily(
        "parcours_outbox_oldest_age_seconds",
        "How long the oldest due row has waited (0 when none), by outbox",
        labels=["outbox"],
    )
    table: Table
    for name, table in (("deliveries", deliveries), ("webhooks", messages)):
        due = table.c.next_attempt_at
        query = select(func.count(), func.min(due)).where(table.c.status.in_(WAITING), due <= now)
        count, oldest = conn.execute(query).one()
        backlog.add_metric([name], count)
        age.add_metric([name], _seconds_since(oldest, now))
    return [backlog, age]


def _timer_lag(conn: Connection, now: datetime) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "parcours_timer_lag_seconds", "Now minus the oldest due timer (0 when none is due)"
    )
    oldest = conn.execute(select(func.min(timers.c.due_at)).where(timers.c.due_at <= now))
    family.add_metric([], _seconds_since(oldest.scalar(), now))
    return family


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0
