"""Periodic re-evaluation of time-relative conditions ("signed up within 14d").

Such a condition can change with no event at all, so a job re-evaluates it. Only profiles
seen within the longest window any condition uses (plus a margin for the job's own period)
can flip, so the job's cost grows with recently active profiles, not with all profiles.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Engine

from engine.audience import repository as repo
from engine.audience.service import AudienceResult, ProfileChange, apply_changes
from engine.catalog.catalog import Catalog
from engine.catalog.conditions import Condition, EventCondition, StageCondition
from engine.catalog.dependencies import Dependencies, walk
from engine.ml.scoring import model_uses, observation_windows
from engine.store.db import write_transaction

MARGIN = timedelta(days=1)  # the job must run at least this often
PAGE = 500
TIME_PASSED = Dependencies(time_relative=True)


@lru_cache(maxsize=8)
def time_horizon(catalog: Catalog) -> timedelta | None:
    """The longest `within` window of any stage or segment condition, or observation window
    of a model they use (its score appears when it closes); None if there is none."""
    conditions: list[Condition] = [s.when for s in catalog.stages]
    conditions += [s.when for s in catalog.segments.values()]
    windows = [
        node.within
        for condition in conditions
        for _, node in walk(condition)
        if isinstance(node, EventCondition | StageCondition) and node.within is not None
    ]
    windows += observation_windows(model_uses(catalog))
    return max(windows, default=None)


def reevaluate_time_relative(engine: Engine, catalog: Catalog, now: datetime) -> AudienceResult:
    """Re-evaluate the time-relative conditions of every profile that may have flipped."""
    total = AudienceResult()
    horizon = time_horizon(catalog)
    if horizon is None:
        return total
    since = now - horizon - MARGIN
    after = 0
    while True:
        with write_transaction(engine) as conn:
            ids = repo.active_profile_ids(conn, since, after, PAGE)
            if not ids:
                return total
            changes = {pid: ProfileChange(now, TIME_PASSED) for pid in ids}
            result = apply_changes(conn, catalog, changes, now)
        total.stages_entered += result.stages_entered
        total.segments_entered += result.segments_entered
        total.segments_exited += result.segments_exited
        after = ids[-1]
