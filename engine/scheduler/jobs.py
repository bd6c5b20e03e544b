"""The periodic jobs and the scheduler that runs them (embedded in `serve`, or `worker`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from engine.api.state import AppState
from engine.clock import SystemClock
from engine.experiments.service import fold_experiments
from engine.flows.tasks import fire_schedules, run_due_timers
from engine.pipeline import process_time_passed
from engine.scheduler.heartbeat import beat, worker_name
from engine.scheduler.metrics import JobMetrics, QueueCollector
from engine.webhooks.tasks import purge_webhook_history, send_due_webhooks

log = logging.getLogger(__name__)


def reevaluate_audience(state: AppState) -> None:
    """Re-evaluate time-relative stage and segment conditions with the live catalog; what
    time changed starts and wakes flows and sends webhooks as an event would."""
    result = process_time_passed(state.engine, state.catalog, state.clock.now(), state.guardrails)
    if result.segments_entered or result.segments_exited or result.stages_entered:
        log.info(
            "audience re-evaluated: %d stages entered, %d segments entered, %d exited;"
            " %d runs started, %d woken",
            result.stages_entered,
            result.segments_entered,
            result.segments_exited,
            result.runtime.started,
            result.runtime.resumed,
        )


def heartbeat(state: AppState) -> None:
    """Tell /readyz that this process runs the periodic jobs."""
    beat(state.engine, worker_name(), state.clock.now())


def run_timers(state: AppState) -> None:
    """Wake runs whose wait is over."""
    run_due_timers(state.engine, state.catalog, state.clock.now(), guardrails=state.guardrails)


def send_deliveries(state: AppState) -> None:
    """Send pending emails and webhooks, until none is due."""
    assert state.dispatcher is not None
    while state.dispatcher.run_once(limit=state.settings.delivery_batch) > 0:
        pass


def send_webhooks(state: AppState) -> None:
    """Send due webhook messages (event subscriptions), until none is due."""
    assert state.webhooks is not None
    while (
        send_due_webhooks(
            state.engine,
            state.catalog,
            state.webhooks,
            state.clock,
            max_attempts=state.settings.webhook_max_attempts,
            longest_wait=timedelta(seconds=state.settings.webhook_max_backoff_seconds),
            metrics=state.metrics.delivery,
        )
        > 0
    ):
        pass


def purge_webhooks(state: AppState) -> None:
    """Forget delivered and dead webhook messages and attempt logs older than 30 days."""
    purge_webhook_history(state.engine, state.clock)


def fold_experiment_outcomes(state: AppState) -> None:
    """Store matured experiment outcomes, so results stay fast as exposures grow."""
    fold_experiments(state.engine, state.catalog, state.clock.now())


def start_scheduled_flows(state: AppState) -> None:
    """Start flows whose cron time has come."""
    fire_schedules(state.engine, state.catalog, state.clock.now(), state.guardrails)


def schedule(state: AppState, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """Add every periodic job to `scheduler` (a background one by default), not started;
    the jobs' and the queues' metrics join the state's registry (once per state)."""
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    # A tick still running when the next is due is skipped on purpose (max_instances=1);
    # APScheduler would log each skip as a warning.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    tick = state.settings.tick_seconds
    jobs: list[tuple[Callable[[AppState], None], float]] = [
        (heartbeat, tick),
        (reevaluate_audience, state.settings.audience_interval_seconds),
        (run_timers, tick),
        (send_deliveries, tick),
        (send_webhooks, tick),
        (purge_webhooks, 86_400),
        (start_scheduled_flows, 30),
        (fold_experiment_outcomes, state.settings.experiment_fold_interval_seconds),
    ]
    timings = JobMetrics(state.metrics.registry)
    state.metrics.registry.register(QueueCollector(state.engine, state.clock))
    for job, seconds in jobs:
        # The fold also runs at start: until it has run, results compute every exposure
        # live (seconds at a million), and a process may start after a long stop. So does
        # the heartbeat, so a fresh worker is ready at once. APScheduler runs on wall time.
        starts_now = job in (fold_experiment_outcomes, heartbeat)
        first = {"next_run_time": SystemClock().now()} if starts_now else {}
        scheduler.add_job(
            timings.timed(job),
            "interval",
            seconds=seconds,
            args=[state],
            id=job.__name__,
            max_instances=1,
            coalesce=True,
            **first,
        )
    return scheduler
