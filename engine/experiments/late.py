"""Late data: rows written with a time inside a metric window that may already be folded.

A fold stores a profile's value of a metric once its window closed `LATE_DATA_GRACE` ago
(engine.experiments.outcomes). An event or stage entry written afterwards, with a time
inside that window, changes the value: the pipeline hands every row it writes with a time
before `settled(now)` to `refold_late_data`, in the batch's transaction, and the values
the rows change are retracted and queued to be folded again, as a merge's are.

Covariates (engine.experiments.covariates) are folded like metrics, so a late row in a
folded profile's pre-exposure window is caught the same way.

Rows newer than `settled(now)` cannot fall in a folded window; that is nearly every row, and
it costs one comparison. A batch with older rows reads the fold rows (a few) and, when some
experiment is folded, its profiles' exposures by primary key: two small queries per batch,
about 1 ms for 100 exposed profiles on SQLite. Then a retraction per (experiment, metric)
whose folded values the rows change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog
from engine.catalog.metrics import (
    EventCountMetric,
    EventMetric,
    Metric,
    RetentionMetric,
    StageMetric,
)
from engine.experiments import outcomes
from engine.experiments.covariates import Covariate, Measured, with_covariates
from engine.experiments.repository import ACTIVITY_TYPES
from engine.experiments.service import known_experiments

CLOCK_MARGIN = timedelta(minutes=30)
"""How far a fold's clock may run ahead of a writing transaction's `now`: clock skew between
machines, plus the transaction's own length (a fold must not store a window while a row
inside it is being written and was not checked). Less than LATE_DATA_GRACE."""

STAGE_ENTRY = "stage entry"  # the `type` of a Written stage entry (no event has this type)


@dataclass(frozen=True)
class Written:
    """A row metrics read: an event (`type`, `name`) or a stage entry (STAGE_ENTRY, stage)."""

    profile_id: int
    at: datetime
    type: str
    name: str | None


def settled(now: datetime) -> datetime:
    """Rows at or before this time may fall in a folded window: every later one cannot."""
    return now - outcomes.LATE_DATA_GRACE + CLOCK_MARGIN


def refold_late_data(
    conn: Connection, catalog: Catalog, written: Sequence[Written], now: datetime
) -> None:
    """Queue for refolding the folded values that `written` (rows before `settled(now)`)
    change; in the caller's transaction."""
    if not written:
        return
    bound = settled(now)
    by_profile: dict[int, list[Written]] = {}
    for row in written:
        by_profile.setdefault(row.profile_id, []).append(row)
    metrics = _metrics_by_key(catalog)
    changed: dict[tuple[str, str], set[int]] = {}
    folded, exposures = outcomes.folded_exposures(conn, by_profile)
    for key, profile_id, exposed_at in exposures:
        for mkey in folded[key]:
            if changes(metrics.get(mkey), exposed_at, bound, by_profile[profile_id]):
                changed.setdefault((key, mkey), set()).add(profile_id)
    if changed:
        outcomes.refold(conn, changed)


def changes(
    metric: Measured | None, exposed_at: datetime, bound: datetime, rows: Iterable[Written]
) -> bool:
    """Whether the rows may change a value of `metric` that may be folded (its window closed
    by `bound`). A definition the catalog no longer has (None) is changed by any row after
    the exposure (results no longer read it, and the next fold drops it). Window edges are
    taken as closed: a needless refold costs little. A covariate reads its pre-exposure
    window; its cross term x·y also reads the metric's window."""
    if metric is None:
        return any(row.at >= exposed_at for row in rows)
    if exposed_at + metric.window_end > bound:
        return False
    if isinstance(metric, Covariate):
        start = exposed_at + metric.window_start
        before = any(start <= row.at <= exposed_at and _reads_pre(metric, row) for row in rows)
        return before or (metric.product and changes(metric.metric, exposed_at, bound, rows))
    start, end = exposed_at + metric.window_start, exposed_at + metric.window_end
    return any(start <= row.at <= end and reads(metric, row) for row in rows)


def _reads_pre(covariate: Covariate, row: Written) -> bool:
    if row.type == STAGE_ENTRY:
        return False
    return row.name == covariate.event if covariate.event else row.type in ACTIVITY_TYPES


def reads(metric: Metric, row: Written) -> bool:
    """Whether `metric` reads this kind of row (the time aside)."""
    match metric:
        case StageMetric():
            return row.type == STAGE_ENTRY and row.name == metric.stage
        case EventMetric():
            return row.type != STAGE_ENTRY and row.name == metric.event
        case EventCountMetric():
            return row.type != STAGE_ENTRY and row.name == metric.event_count
        case RetentionMetric():
            return row.type in ACTIVITY_TYPES


@lru_cache(maxsize=8)
def _metrics_by_key(catalog: Catalog) -> dict[str, Measured]:
    return {
        outcomes.metric_key(part): part
        for entry in known_experiments(catalog).values()
        for part in with_covariates(entry.experiment.metrics)
    }
