"""Response models of the experiments API (and of `parcours experiments report --format json`).

A results document has the shape of the offline CSV analysis (docs/experiments.md) for the
primary metric at the top level, plus the exposures, secondary metrics and guardrails.
Numbers are plain JSON numbers or null, never NaN. Arms of a rate metric carry
`conversions` and `rate`, arms of a mean metric `total` and `mean`; the other two keys are
left out of the JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class AssignmentPublic(BaseModel):
    experiment: str
    user_id: str
    variant: str
    holdout: bool  # the variant receives nothing (a holdout control or the global holdout)
    bucket: int
    exposed_at: datetime


class VariantWeight(BaseModel):
    variant: str
    weight: int | None  # None for a stored variant no longer in the definition
    users: int


class ExperimentPublic(BaseModel):
    key: str
    flow: str | None  # None for the global holdout
    global_holdout: bool
    holdout: bool  # the control receives nothing
    control: str
    metric: str
    variants: list[VariantWeight]
    exposed: int
    first_exposed_at: datetime | None
    last_exposed_at: datetime | None


class ExperimentList(BaseModel):
    data: list[ExperimentPublic]


class ArmPublic(BaseModel):
    variant: str
    users: int
    conversions: int | float | None = None
    rate: float | None = None
    total: float | None = None
    mean: float | None = None


class ComparisonPublic(BaseModel):
    variant: str
    reason: str | None
    absolute_lift: float | None
    relative_lift: float | None
    ci_absolute: list[float] | None
    ci_relative: list[float] | None
    p_value: float | None
    p_value_absolute: float | None
    p_value_adjusted: float | None
    chance_to_win: float | None
    risk: float | None
    risk_control: float | None
    sequential_ci_absolute: list[float] | None
    sequential_ci_relative: list[float] | None
    sequential_p_value: float | None
    # CUPED (engine.experiments.covariates), present when the arms have a covariate
    cuped_theta: float | None = None
    cuped_absolute_lift: float | None = None
    cuped_relative_lift: float | None = None
    cuped_ci_absolute: list[float] | None = None
    cuped_ci_relative: list[float] | None = None
    cuped_p_value: float | None = None
    cuped_variance_reduction: float | None = None  # share of the lift's variance removed


class SegmentPublic(BaseModel):
    segment: str
    control: str
    users: int
    srm_p_value: float | None
    srm_reason: str | None
    srm_warning: str | None
    variants: list[ArmPublic]
    comparisons: list[ComparisonPublic]


class MetricResults(BaseModel):
    """One metric: its definition, arms, comparisons with control and persona breakdown.

    `alerts` lists the variants whose always-valid (sequential) interval shows them worse
    than control, so a guardrail may be checked every day without false alarms.
    """

    metric: str
    role: Literal["primary", "secondary", "guardrail"]
    kind: Literal["stage", "event", "event_count", "retention"]
    target: str | None  # the stage or event measured; None for retention
    window: list[str]  # [start, end] after exposure, e.g. ["0d", "14d"]
    measure: Literal["proportion", "mean"]
    better: Literal["higher", "lower"]
    control: str
    users: int
    srm_p_value: float | None
    srm_reason: str | None
    srm_warning: str | None
    variants: list[ArmPublic]
    comparisons: list[ComparisonPublic]
    segments: list[SegmentPublic]
    alerts: list[str]


class ExposurePublic(BaseModel):
    variant: str
    weight: int | None
    users: int
    first_exposed_at: datetime | None
    last_exposed_at: datetime | None


class SrmPublic(BaseModel):
    p_value: float | None
    reason: str | None
    warning: str | None


class HealthPublic(BaseModel):
    """Checks beside the SRM (engine.experiments.health)."""

    mixed_exposures: int  # profiles that saw more than one variant (identities merged)
    mixed_by_variant: dict[str, int]  # per variant they are kept in
    mixed_share: float | None  # of the exposed profiles
    mixed_rule: str  # what the results do with them
    mixed_warning: str | None


class ResultSettings(BaseModel):
    alpha: float
    segment_correction: str
    metric_correction: str  # p_value_adjusted across metrics and variants: none, holm, bh
    include_in_progress: bool


class ExperimentResults(MetricResults):
    """The primary metric at the top level (the CSV analysis' shape), and everything else."""

    experiment: str
    flow: str | None
    global_holdout: bool
    holdout: bool
    exposed: int
    exposures: list[ExposurePublic]
    exposure_srm: SrmPublic
    health: HealthPublic
    secondary: list[MetricResults]
    guardrails: list[MetricResults]
    settings: ResultSettings
    computed_at: datetime


class PlanHorizon(BaseModel):
    days: int  # of exposure at the current traffic
    users: int
    mde: float | None  # relative lift detectable with the power asked (0.1 = +10%)


class PlanVariant(BaseModel):
    variant: str
    mde_now: float | None = None  # with the profiles counted so far
    horizons: list[PlanHorizon] = []
    days_needed: int | None = None  # days of exposure to detect `lift`
    users_needed: int | None = None  # in all arms
    days_remaining: int | None = None
    reason: str | None = None  # why a number is missing (no_baseline, no_traffic, ...)


class ExperimentPlan(BaseModel):
    """Minimum detectable effect and duration from the live traffic and baseline, for the
    relative test the results' `p_value` uses (docs/experiments.md, "Planning")."""

    experiment: str
    metric: str
    measure: Literal["proportion", "mean"]
    window_days: float  # the metric is read this long after the last exposure counted
    test: Literal["relative"]
    lift: float
    power: float
    alpha: float
    exposed: int
    running_days: float
    daily_exposures: float
    counted: int  # profiles whose window has closed
    baseline: float | None  # control's rate or mean
    variance: float | None  # control's per-user variance (mean metrics)
    variants: list[PlanVariant]
    computed_at: datetime
