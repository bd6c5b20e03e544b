"""Which profiles time may have moved: time-relative conditions ("signed up within 14d").

Such a condition can change with no event at all, so a periodic job re-evaluates it through
the pipeline (`engine.pipeline.process_time_passed`), exactly as an event would. Only
profiles seen within the longest window any condition uses (plus a margin for the job's
own period) can flip, so the job's cost grows with recently active profiles, not with all
profiles. Date conditions flip at moments a trait fixes, for profiles active or not: those
are found by the moments stored per profile (`engine.audience.date_traits`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection

from engine.audience import repository as repo
from engine.audience.service import ProfileChange
from engine.catalog.catalog import Catalog
from engine.catalog.conditions import Condition, EventCondition, StageCondition
from engine.catalog.dependencies import Dependencies, walk
from engine.ml.scoring import model_uses, observation_windows

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


def time_passed(
    conn: Connection, catalog: Catalog, now: datetime, after_id: int
) -> dict[int, ProfileChange]:
    """The next page (ids above `after_id`) of profiles whose time-relative conditions may
    have flipped by `now`, as changes for `apply_changes`; empty when there are no more."""
    horizon = time_horizon(catalog)
    if horizon is None:
        return {}
    ids = repo.active_profile_ids(conn, now - horizon - MARGIN, after_id, PAGE)
    return {pid: ProfileChange(now, TIME_PASSED) for pid in ids}
