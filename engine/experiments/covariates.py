"""CUPED covariates of the live results: each metric's pre-exposure measure, as pseudo-metrics.

Every metric gets a covariate x from the profile's own history in the `PRE_WINDOW` before its
exposure, [exposed - 14 days, exposed):

    event, event_count   the same event, counted
    stage, retention     activity: the profile's track, page and screen events, counted

CUPED needs Σx, Σx² and Σxy per (variant, persona) beside the metric's Σy, Σy². They are
folded exactly as metrics are (engine.experiments.outcomes) by two pseudo-metrics per metric:
`Covariate(metric)` whose value is x, and `Covariate(metric, product=True)` whose value is
x·y. Each has its own metric key, folds when its metric matures, and is retracted on erasure
and merges, and refolded on late data (engine.experiments.late), by the same code, so results
stay a few rollup rows plus the live tail however many profiles were exposed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from engine.catalog.metrics import EventCountMetric, EventMetric, Metric

PRE_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Covariate:
    """x (or, with `product`, x·y) of `metric`; see the module docstring."""

    metric: Metric
    product: bool = False

    @property
    def event(self) -> str | None:
        """The event counted, or None for activity (track, page, screen)."""
        match self.metric:
            case EventMetric():
                return self.metric.event
            case EventCountMetric():
                return self.metric.event_count
            case _:
                return None

    @property
    def window_start(self) -> timedelta:
        return -PRE_WINDOW

    @property
    def window_end(self) -> timedelta:
        """Folded when its metric matures (the product needs the final y)."""
        return self.metric.window_end

    @property
    def measure(self) -> Literal["mean"]:
        return "mean"


Measured = Metric | Covariate  # what folds and sums take: a metric or a covariate part


def with_covariates(metrics: Iterable[Metric]) -> list[Measured]:
    """Each metric followed by its covariate and cross term."""
    return [part for m in metrics for part in (m, Covariate(m), Covariate(m, product=True))]
