"""Experiment metrics: what an experiment measures for each exposed profile.

Every window starts at the profile's exposure (its first assignment to the experiment):

    {stage: activation, within: 14d}            entered the stage within 14 days      rate
    {event: unsubscribed, within: 30d}          did the event at least once           rate
    {event_count: campaign_sent, within: 14d}   how many times it did the event       mean
    {retention: 7d}                             active on day 7 (a track, page or     rate
                                                screen event in [7d, 8d) after exposure)

Each metric may carry `name` (default: derived, e.g. `activation_14d`, `retention_d7`) and
`better: higher | lower`; `lower` (unsubscribes) flips chance to win and risk. A profile counts
in a metric once its window has closed, so a young experiment is not diluted by profiles who
have not had the time to convert (docs/experiments.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from engine.catalog.fields import Definition, Duration, Name, Text, tag, tagged

DAY = timedelta(days=1)
DEFAULT_WINDOW = timedelta(days=14)
MeasureKind = Literal["proportion", "mean"]


class MetricBase(Definition):
    """What every metric may carry."""

    kind: ClassVar[str]
    name: Name | None = None
    better: Literal["higher", "lower"] = "higher"

    @property
    def label(self) -> str:
        """The metric's name in reports: `name`, or one derived from its definition."""
        return self.name or self.default_label()

    def default_label(self) -> str:
        raise NotImplementedError

    @property
    def measure(self) -> MeasureKind:
        """A 0/1 outcome per profile ("proportion") or a count per profile ("mean")."""
        return "proportion"

    @property
    def window_start(self) -> timedelta:
        return timedelta(0)

    @property
    def window_end(self) -> timedelta:
        """How long after exposure the outcome is final: the profile's maturity."""
        raise NotImplementedError


class StageMetric(MetricBase):
    """Entered `stage` within `within` of exposure."""

    kind: ClassVar[str] = "stage"
    stage: Name
    within: Duration = DEFAULT_WINDOW

    def default_label(self) -> str:
        return f"{self.stage}_{span(self.within)}"

    @property
    def window_end(self) -> timedelta:
        return self.within


class EventMetric(MetricBase):
    """Did `event` (any type: a product event or one Parcours records) within `within`."""

    kind: ClassVar[str] = "event"
    event: Text
    within: Duration = DEFAULT_WINDOW

    def default_label(self) -> str:
        return f"{self.event}_{span(self.within)}"

    @property
    def window_end(self) -> timedelta:
        return self.within


class EventCountMetric(MetricBase):
    """How many `event_count` events within `within`: a mean per profile."""

    kind: ClassVar[str] = "event_count"
    event_count: Text
    within: Duration = DEFAULT_WINDOW

    def default_label(self) -> str:
        return f"{self.event_count}_count_{span(self.within)}"

    @property
    def measure(self) -> MeasureKind:
        return "mean"

    @property
    def window_end(self) -> timedelta:
        return self.within


class RetentionMetric(MetricBase):
    """Active on day N: a track, page or screen event in [N, N + 1 day) after exposure."""

    kind: ClassVar[str] = "retention"
    retention: Duration

    def default_label(self) -> str:
        if self.retention % DAY == timedelta(0):
            return f"retention_d{self.retention.days}"
        return f"retention_{span(self.retention)}"

    @property
    def window_start(self) -> timedelta:
        return self.retention

    @property
    def window_end(self) -> timedelta:
        return self.retention + DAY


METRIC_KINDS = ("stage", "event", "event_count", "retention")

Metric = Annotated[
    Annotated[StageMetric, tag("stage")]
    | Annotated[EventMetric, tag("event")]
    | Annotated[EventCountMetric, tag("event_count")]
    | Annotated[RetentionMetric, tag("retention")],
    tagged("metric", METRIC_KINDS, shared=("name", "better", "within")),
]

ACTIVATION: Metric = StageMetric(stage="activation", within=DEFAULT_WINDOW)
"""The default primary metric: entered `activation` within 14 days of exposure."""

DEFAULT_SECONDARY: tuple[Metric, ...] = (
    RetentionMetric(retention=timedelta(days=7)),
    RetentionMetric(retention=timedelta(days=30)),
)
DEFAULT_GUARDRAILS: tuple[Metric, ...] = (
    EventMetric(event="unsubscribed", within=timedelta(days=30), better="lower"),
)


def span(delta: timedelta) -> str:
    """A duration as authors write it: 14d, 36h, 90m (weeks are written in days)."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
