"""Scheduled work of the runtime: due timers, and flows on a cron schedule.

Both claim work from tables in batches, each batch one transaction: a crash rolls the batch
back and the next tick (on this worker or another) does it again, so nothing is lost and,
because a claimed timer row is deleted in the transaction that acts on it, nothing is done
twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from engine.catalog.catalog import Catalog
from engine.catalog.crontab import cron_trigger
from engine.catalog.definitions import Flow, ScheduleTrigger
from engine.flows import repository as repo
from engine.flows.service import RunContext
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.store.bulk import BulkWriter
from engine.store.db import write_transaction

log = logging.getLogger(__name__)
BATCH = 500
_TICK = timedelta(microseconds=1)


def run_due_timers(
    engine: Engine,
    catalog: Catalog,
    now: datetime,
    limit: int = BATCH,
    guardrails: Guardrails = NO_GUARDRAILS,
) -> int:
    """Wake every run whose timer is due; returns how many timers were executed."""
    total = 0
    while True:
        with write_transaction(engine) as conn:
            claimed = repo.claim_due_timers(BulkWriter(conn), now, limit)
            if not claimed:
                return total
            runs = repo.runs_by_id(conn, {run for _, run, _ in claimed})
            profiles = {r["profile_id"] for r in runs}
            context = RunContext(conn, catalog, now, profiles, runs, guardrails)
            for _, run_id, step in claimed:
                run = context.runs.get(run_id)
                if run is not None and _waiting_at(run) == step:
                    context.wake_isolated(run, "timer")
            context.flush()
        total += len(claimed)
        if len(claimed) < limit:
            return total


def _waiting_at(run: dict[str, object]) -> object:
    state = run["state"]
    waiting = state.get("waiting") if isinstance(state, dict) else None
    return waiting.get("step") if isinstance(waiting, dict) else None


def fire_schedules(
    engine: Engine, catalog: Catalog, now: datetime, guardrails: Guardrails = NO_GUARDRAILS
) -> int:
    """Start each scheduled flow whose cron time has come, for everyone in its audience."""
    started = 0
    for flow in catalog.flows.values():
        if isinstance(flow.trigger, ScheduleTrigger) and _due(engine, flow, now):
            started += _start_for_audience(engine, catalog, flow, now, guardrails)
    return started


def _due(engine: Engine, flow: Flow, now: datetime) -> bool:
    """Whether a cron time passed since the last fire (missed times coalesce into one).

    The first time a schedule is seen only starts the clock: nobody is nudged for times
    that passed before the flow existed.
    """
    with write_transaction(engine) as conn:
        last = repo.fired_at(conn, flow.flow)
        if last is None:
            repo.record_fire(conn, flow.flow, now, first=True)
            return False
        upcoming = _upcoming(flow, last)
        if upcoming is None or upcoming > now:
            return False
        repo.record_fire(conn, flow.flow, now, first=False)
        return True


def next_fire(conn: Connection, catalog: Catalog) -> datetime | None:
    """The earliest coming cron time of the scheduled flows already seen, for a virtual
    clock to stop at (engine.testing)."""
    times = [
        _upcoming(flow, last)
        for flow in catalog.flows.values()
        if isinstance(flow.trigger, ScheduleTrigger)
        and (last := repo.fired_at(conn, flow.flow)) is not None
    ]
    return min((t for t in times if t is not None), default=None)


def _upcoming(flow: Flow, last: datetime) -> datetime | None:
    """The flow's first cron time after its last fire."""
    assert isinstance(flow.trigger, ScheduleTrigger)
    cron = cron_trigger(flow.trigger.schedule)
    upcoming: datetime | None = cron.get_next_fire_time(last, last)
    if upcoming is None or upcoming <= last:
        upcoming = cron.get_next_fire_time(None, last + _TICK)
    return upcoming


def _start_for_audience(
    engine: Engine, catalog: Catalog, flow: Flow, now: datetime, guardrails: Guardrails
) -> int:
    started, after = 0, 0
    while True:
        with write_transaction(engine) as conn:
            ids = repo.audience_members(conn, list(flow.audience), after, BATCH)
            if not ids:
                return started
            context = RunContext(conn, catalog, now, set(ids), guardrails=guardrails)
            for profile_id in ids:
                context.start(flow, profile_id)
            context.flush()
            started += context.result.started
        after = ids[-1]
