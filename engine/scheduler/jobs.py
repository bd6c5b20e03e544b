"""The periodic jobs and the scheduler that runs them (embedded in `serve`, or `worker`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from engine.api.state import AppState
from engine.audience.tasks import reevaluate_time_relative

log = logging.getLogger(__name__)


def reevaluate_audience(state: AppState) -> None:
    """Re-evaluate time-relative stage and segment conditions with the live catalog."""
    result = reevaluate_time_relative(state.engine, state.catalog, state.clock.now())
    if result.segments_entered or result.segments_exited or result.stages_entered:
        log.info(
            "audience re-evaluated: %d stages entered, %d segments entered, %d exited",
            result.stages_entered,
            result.segments_entered,
            result.segments_exited,
        )


def schedule(state: AppState, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """Add every periodic job to `scheduler` (a background one by default), not started."""
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    jobs: list[tuple[Callable[[AppState], None], int]] = [
        (reevaluate_audience, state.settings.audience_interval_seconds),
    ]
    for job, seconds in jobs:
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            args=[state],
            id=job.__name__,
            max_instances=1,
            coalesce=True,
        )
    return scheduler
