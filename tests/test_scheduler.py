"""The periodic jobs are registered on the scheduler and run against the live state."""

from fastapi import FastAPI

from engine.scheduler.jobs import reevaluate_audience, schedule


def test_jobs_are_scheduled_at_the_configured_interval(app: FastAPI) -> None:
    scheduler = schedule(app.state.parcours)
    intervals = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
    assert intervals == {
        "reevaluate_audience": 300,
        "run_timers": 1,
        "send_deliveries": 1,
        "send_webhooks": 1,
        "purge_webhooks": 86_400,
        "start_scheduled_flows": 30,
    }


def test_reevaluation_job_runs_on_an_empty_database(app: FastAPI) -> None:
    reevaluate_audience(app.state.parcours)  # nothing to do, and nothing raised
