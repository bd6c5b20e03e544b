"""Content documents: one YAML document is one definition, its kind named by its first key.

flow: welcome          flows/*.yaml          a journey (trigger, audience, goal, steps)
tutorial: tour         flows/inapp/*.yaml    an in-app tutorial (ordered steps)
tip: shortcuts         flows/inapp/*.yaml    a single in-app tip
endpoint: crm          flows/endpoints.yaml  where `webhook` steps post
stages: [...]          segments/stages.yaml  the onboarding stages, in order
segment: power_user    segments/*.yaml       a persona segment
holdout: onboarding    flows/holdout.yaml    the global onboarding holdout (at most one)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from engine.catalog.conditions import Condition, PropertyFilter
from engine.catalog.crontab import cron_trigger
from engine.catalog.fields import Definition, Duration, Name, Text, tag, tagged
from engine.catalog.metrics import ACTIVATION, DEFAULT_GUARDRAILS, DEFAULT_SECONDARY, Metric
from engine.catalog.problems import did_you_mean
from engine.catalog.steps import Step

_URL = re.compile(r"https?://[^\s/$.?#][^\s]*")


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise PydanticCustomError(
            "url", "expected an http(s) URL, got the string '{value}'", {"value": value}
        )
    return value


class StageTrigger(Definition):
    """Start when the profile enters `stage`."""

    kind: ClassVar[str] = "stage"
    stage: Name


class EventTrigger(Definition):
    """Start when the profile does `event` (matching `where`)."""

    kind: ClassVar[str] = "event"
    event: Text
    where: Mapping[str, PropertyFilter] = Field(default_factory=dict)


class SegmentTrigger(Definition):
    """Start when the profile enters `segment`."""

    kind: ClassVar[str] = "segment"
    segment: Name


def _crontab(value: str) -> str:
    try:
        cron_trigger(value)
    except ValueError as exc:
        raise PydanticCustomError(
            "crontab",
            "expected a crontab like '0 9 * * mon' (minute hour day month weekday): {error}",
            {"error": str(exc)},
        ) from exc
    return value


class ScheduleTrigger(Definition):
    """Start, on a cron schedule (UTC, weekdays as standard cron counts them), for every
    profile in the flow's audience."""

    kind: ClassVar[str] = "schedule"
    schedule: Annotated[str, AfterValidator(_crontab)]


Trigger = Annotated[
    Annotated[StageTrigger, tag("stage")]
    | Annotated[EventTrigger, tag("event")]
    | Annotated[SegmentTrigger, tag("segment")]
    | Annotated[ScheduleTrigger, tag("schedule")],
    tagged("trigger", ("stage", "event", "segment", "schedule")),
]


class Goal(Definition):
    """Success of a flow run: `condition` holds within `within` of entering the flow.

    Written flat, `{stage: activation, within: 14d}`: `within` is the goal's window and the
    rest of the mapping is the condition.
    """

    condition: Condition
    within: Duration

    @model_validator(mode="before")
    @classmethod
    def _split_window(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "condition" in data:
            return data
        split = {"condition": {k: v for k, v in data.items() if k != "within"}}
        return split | ({"within": data["within"]} if "within" in data else {})

    def describe(self) -> str:
        """`stage activation within 14d`, as the dashboard and the demo show it."""
        condition = self.condition.model_dump(exclude_defaults=True, by_alias=True)
        what = ", ".join(f"{k} {v}" for k, v in condition.items())
        return f"{what} within {self.within.days}d" if self.within.days else what


class MinimumSample(Definition):
    """Per arm, the least data before a comparison is read as a finding: profiles counted,
    and conversions (the total, for a mean metric). Below it the result is "not enough
    data" (docs/experiments.md, "Honest edges")."""

    users: int = Field(default=20, ge=0)
    conversions: int = Field(default=5, ge=0)


class Prior(Definition):
    """An informative prior on the relative lift, N(mean, variance), for the chance to win
    and risk (docs/experiments.md, "Bayesian"); without one the prior is flat."""

    mean: float = Field(default=0.0, allow_inf_nan=False)
    variance: float = Field(default=0.09, gt=0, allow_inf_nan=False)


class Experiment(Definition):
    """A split of the flow's entrants between variants, weights in percent; the first
    variant is the control the others are compared with. With `holdout: true` the control
    receives none of the flow's steps. Profiles are assigned by a hash of `key:salt:user id`
    and measured from their exposure (engine.experiments.service, docs/experiments.md)."""

    key: Name
    variants: Mapping[Name, int] = Field(min_length=2)
    salt: str = ""
    holdout: bool = False
    metric: Metric = ACTIVATION
    secondary: tuple[Metric, ...] = DEFAULT_SECONDARY
    guardrails: tuple[Metric, ...] = DEFAULT_GUARDRAILS
    minimum_sample: MinimumSample = MinimumSample()
    prior: Prior | None = None
    metric_correction: Literal["none", "holm", "bh"] = "none"  # across metrics and variants

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The primary metric, then the secondary ones, then the guardrails."""
        return (self.metric, *self.secondary, *self.guardrails)

    @property
    def control(self) -> str:
        return next(iter(self.variants))

    @field_validator("variants")
    @classmethod
    def _weights(cls, variants: Mapping[str, int]) -> Mapping[str, int]:
        for name, weight in variants.items():
            if weight <= 0:
                raise PydanticCustomError(
                    "weight",
                    "variant '{name}' needs a positive weight, got {weight}",
                    {"name": name, "weight": weight},
                )
        total = sum(variants.values())
        if total != 100:
            raise PydanticCustomError(
                "weight", "variant weights must sum to 100, got {total}", {"total": total}
            )
        return variants


HOLDOUT_VARIANT = "holdout"
ONBOARDED_VARIANT = "onboarding"


class GlobalHoldout(Definition):
    """A share of all profiles that no onboarding flow reaches, to measure what onboarding
    as a whole adds. It is analysed as an experiment keyed by its name whose control,
    `holdout`, receives nothing and whose other variant, `onboarding`, gets every flow."""

    kind: ClassVar[str] = "holdout"
    holdout: Name
    description: str = ""
    percent: int = Field(ge=1, le=50)
    salt: str = ""
    metric: Metric = ACTIVATION
    secondary: tuple[Metric, ...] = DEFAULT_SECONDARY
    guardrails: tuple[Metric, ...] = DEFAULT_GUARDRAILS
    minimum_sample: MinimumSample = MinimumSample()
    prior: Prior | None = None
    metric_correction: Literal["none", "holm", "bh"] = "none"

    @property
    def name(self) -> str:
        return self.holdout

    @cached_property
    def experiment(self) -> Experiment:
        """The holdout as an experiment: what assignment and analysis work on."""
        return Experiment(
            key=self.holdout,
            variants={HOLDOUT_VARIANT: self.percent, ONBOARDED_VARIANT: 100 - self.percent},
            salt=self.salt,
            holdout=True,
            metric=self.metric,
            secondary=self.secondary,
            guardrails=self.guardrails,
            minimum_sample=self.minimum_sample,
            prior=self.prior,
            metric_correction=self.metric_correction,
        )


class Flow(Definition):
    """A journey: who enters (trigger, audience), what success is (goal), what happens."""

    kind: ClassVar[str] = "flow"
    flow: Name
    description: str = ""
    trigger: Trigger
    audience: tuple[Name, ...] = ()
    goal: Goal | None = None
    exit_when: Condition | None = None
    # Rewrite email links to signed click redirects and add an open pixel.
    tracking: bool = False
    # Under a frequency cap, messages of higher-priority flows are sent first.
    priority: int = 0
    # "once" per profile (default), or again once this long has passed since the last entry.
    reentry: Literal["once"] | Duration = "once"
    experiment: Experiment | None = None
    steps: tuple[Step, ...] = Field(min_length=1)

    @property
    def name(self) -> str:
        return self.flow


class Segment(Definition):
    """A persona: who matches `when`. Of all a profile's segments, the one with the highest
    `priority` is its primary persona, so priorities are unique."""

    kind: ClassVar[str] = "segment"
    segment: Name
    description: str = ""
    priority: int = Field(ge=0)
    when: Condition

    @property
    def name(self) -> str:
        return self.segment


class Stage(Definition):
    """An onboarding milestone, entered once, the first time `when` holds. An `ordered`
    stage also waits for the ordered stage listed before it."""

    stage: Name
    description: str = ""
    ordered: bool = True
    when: Condition

    @property
    def name(self) -> str:
        return self.stage


class Stages(Definition):
    """The stage catalog, in order."""

    kind: ClassVar[str] = "stages"
    stages: tuple[Stage, ...] = Field(min_length=1)


Locale = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]


class TutorialPage(Definition):
    """One step of a tutorial (a page, in code, to keep it apart from flow steps)."""

    target: Text
    title: Text
    body: Text


class PageText(Definition):
    """A tutorial page's words in another language (the target stays the same)."""

    title: Text
    body: Text


class TutorialText(Definition):
    title: Text
    steps: tuple[PageText, ...]


class Tutorial(Definition):
    """A multi-step in-app guide, shown by `tutorial` steps."""

    kind: ClassVar[str] = "tutorial"
    tutorial: Name
    title: Text
    priority: int = Field(0, ge=0)
    expires: Duration | None = None
    steps: tuple[TutorialPage, ...] = Field(min_length=1)
    # Shown to profiles whose `locale` trait matches (fr-CA, then fr, then the default).
    translations: Mapping[Locale, TutorialText] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _same_pages(self) -> Tutorial:
        for locale, text in self.translations.items():
            if len(text.steps) != len(self.steps):
                raise PydanticCustomError(
                    "translation",
                    "translation '{locale}' has {got} steps; the tutorial has {want}",
                    {"locale": locale, "got": len(text.steps), "want": len(self.steps)},
                )
        return self

    @property
    def name(self) -> str:
        return self.tutorial


class Tip(Definition):
    """A single in-app feature tip, shown by `tip` steps."""

    kind: ClassVar[str] = "tip"
    tip: Name
    title: Text
    body: Text
    target: Text | None = None
    priority: int = Field(0, ge=0)
    expires: Duration | None = None
    # Shown to profiles whose `locale` trait matches (fr-CA, then fr, then the default).
    translations: Mapping[Locale, PageText] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.tip


# What webhook endpoints may subscribe to (engine.webhooks publishes them; docs/webhooks.md).
WEBHOOK_EVENT_TYPES = (
    "stage.entered",
    "segment.entered",
    "segment.exited",
    "flow.entered",
    "flow.ended",
    "delivery.sent",
    "delivery.failed",
    "experiment.exposed",
)
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def webhook_event_pattern(value: str) -> str:
    """An event type, `group.*` (every type of a group) or `*` (everything)."""
    groups = {t.partition(".")[0] + ".*" for t in WEBHOOK_EVENT_TYPES}
    if value == "*" or value in WEBHOOK_EVENT_TYPES or value in groups:
        return value
    raise PydanticCustomError(
        "event_type",
        "unknown webhook event '{value}'{hint}; known events: {known}",
        {
            "value": value,
            "hint": did_you_mean(value, (*WEBHOOK_EVENT_TYPES, *groups)),
            "known": ", ".join(WEBHOOK_EVENT_TYPES),
        },
    )


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise PydanticCustomError(
            "env_name",
            "expected the name of an environment variable such as CRM_WEBHOOK_SECRET "
            "(the secret itself never belongs in content), got '{value}'",
            {"value": value},
        )
    return value


class Endpoint(Definition):
    """A webhook destination, named so flows never carry URLs.

    `events` subscribes it to engine events (sent from the webhook outbox); `secret_env`
    names the environment variable holding its `whsec_` secret(s), so secrets stay out of
    content: with a secret, every request is signed (Standard Webhooks).
    """

    kind: ClassVar[str] = "endpoint"
    endpoint: Name
    url: Annotated[str, AfterValidator(_url)]
    description: str = ""
    events: tuple[Annotated[str, AfterValidator(webhook_event_pattern)], ...] = ()
    secret_env: Annotated[str, AfterValidator(_env_name)] | None = None

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({e for e in events if events.count(e) > 1})
        if repeated:
            raise PydanticCustomError(
                "duplicate", "'{event}' is listed twice", {"event": repeated[0]}
            )
        return events

    @property
    def name(self) -> str:
        return self.endpoint


DOCUMENT_KINDS = ("flow", "tutorial", "tip", "endpoint", "stages", "segment", "holdout")

Document = Annotated[
    Annotated[Flow, tag("flow")]
    | Annotated[Tutorial, tag("tutorial")]
    | Annotated[Tip, tag("tip")]
    | Annotated[Endpoint, tag("endpoint")]
    | Annotated[Stages, tag("stages")]
    | Annotated[Segment, tag("segment")]
    | Annotated[GlobalHoldout, tag("holdout")],
    tagged("document", DOCUMENT_KINDS),
]
