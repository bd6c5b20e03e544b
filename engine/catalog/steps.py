"""Flow steps: what a flow does, one YAML mapping per step, its kind named by its key.

    - email: welcome                       send an email template
    - tutorial: guided-first-campaign      show an in-app tutorial
    - tip: keyboard-shortcuts              show an in-app tip
    - webhook: sales-assist                post to a configured endpoint
    - wait: 2d
    - wait_until: {event: campaign_created, timeout: 2d}
      on_timeout: [...]
    - wait_until: {trait: renewal_at, offset: -7d}     until a date trait (plus an offset)
    - branch: {trait: company_size, gte: 50}
      then: [...]
      else: [...]
    - by_segment: {beginner_marketer: [...], power_user: [...]}
      else: [...]
    - variant: tutorial_first              steps for one experiment variant
      steps: [...]
    - exit: reason

Every step may carry an `id` (stable across edits, referenced by `wait_until: {engaged: id}`)
and a `when` condition (the step is skipped when it does not hold). Executing steps is the
flow interpreter's job; these models only describe and validate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from engine.catalog.conditions import Condition, PropertyFilter
from engine.catalog.fields import Definition, Duration, Name, Offset, Text, tag, tagged

ENGAGEABLE = ("email", "tutorial", "tip")
"""Step kinds a profile can engage with (click an email, finish a tutorial, act on a tip)."""


class StepBase(Definition):
    """What every step may carry."""

    kind: ClassVar[str]
    id: Name | None = None
    when: Condition | None = None


class EmailStep(StepBase):
    kind: ClassVar[str] = "email"
    email: Name


class TutorialStep(StepBase):
    kind: ClassVar[str] = "tutorial"
    tutorial: Name


class TipStep(StepBase):
    kind: ClassVar[str] = "tip"
    tip: Name


class WebhookStep(StepBase):
    kind: ClassVar[str] = "webhook"
    webhook: Name


class WaitStep(StepBase):
    kind: ClassVar[str] = "wait"
    wait: Duration


class WaitTarget(Definition):
    """What a `wait_until` waits for: a new event, a stage, engagement with an earlier
    step (whichever comes first, or `timeout`), or the date in a trait plus `offset`.

    A date wait ends at that moment (at once if it has passed) and follows the trait: an
    identify changing it moves the wait. Its `timeout` is optional; while the trait names
    no date the run waits for one until the timeout, or, without a timeout, goes straight
    on to `on_timeout`.
    """

    # A run stores its target as "event:<name>" or "date:<trait>" in 200 characters.
    event: Text | None = Field(None, max_length=190)
    where: Mapping[str, PropertyFilter] = Field(default_factory=dict)
    stage: Name | None = None
    engaged: Name | None = None
    trait: Text | None = Field(None, max_length=190)
    offset: Offset | None = None
    timeout: Duration | None = None

    @model_validator(mode="after")
    def _one_target(self) -> WaitTarget:
        targets = [name for name in ("event", "stage", "engaged", "trait") if getattr(self, name)]
        if len(targets) != 1:
            raise PydanticCustomError(
                "wait_target", "wait_until needs exactly one of event, stage, engaged or trait"
            )
        if self.where and self.event is None:
            raise PydanticCustomError("wait_target", "'where' filters apply only to an event")
        if self.offset is not None and self.trait is None:
            raise PydanticCustomError("wait_target", "'offset' applies only to a date trait")
        if self.timeout is None and self.trait is None:
            raise PydanticCustomError(
                "wait_target", "wait_until needs a timeout (only a date trait wait may omit it)"
            )
        return self


class WaitUntilStep(StepBase):
    kind: ClassVar[str] = "wait_until"
    wait_until: WaitTarget
    on_timeout: tuple[Step, ...] = ()


class BranchStep(StepBase):
    kind: ClassVar[str] = "branch"
    branch: Condition
    then: tuple[Step, ...] = Field(min_length=1)
    otherwise: tuple[Step, ...] = Field((), alias="else")


class BySegmentStep(StepBase):
    """Steps chosen by the profile's primary persona; `else` for everyone else."""

    kind: ClassVar[str] = "by_segment"
    by_segment: Mapping[Name, tuple[Step, ...]] = Field(min_length=1)
    otherwise: tuple[Step, ...] = Field((), alias="else")


class VariantStep(StepBase):
    """Steps only for profiles assigned `variant` in the flow's experiment."""

    kind: ClassVar[str] = "variant"
    variant: Name
    steps: tuple[Step, ...] = Field(min_length=1)


class ExitStep(StepBase):
    """Ends the flow run; the reason is recorded on it."""

    kind: ClassVar[str] = "exit"
    exit: Text


STEP_KINDS = (
    "email",
    "tutorial",
    "tip",
    "webhook",
    "wait",
    "wait_until",
    "branch",
    "by_segment",
    "variant",
    "exit",
)

Step = Annotated[
    Annotated[EmailStep, tag("email")]
    | Annotated[TutorialStep, tag("tutorial")]
    | Annotated[TipStep, tag("tip")]
    | Annotated[WebhookStep, tag("webhook")]
    | Annotated[WaitStep, tag("wait")]
    | Annotated[WaitUntilStep, tag("wait_until")]
    | Annotated[BranchStep, tag("branch")]
    | Annotated[BySegmentStep, tag("by_segment")]
    | Annotated[VariantStep, tag("variant")]
    | Annotated[ExitStep, tag("exit")],
    tagged("step", STEP_KINDS, shared=("id", "when")),
]

for _model in (WaitUntilStep, BranchStep, BySegmentStep, VariantStep):
    _model.model_rebuild()


def children(step: Step) -> tuple[tuple[tuple[str, ...], tuple[Step, ...]], ...]:
    """The nested step sequences of a step, each with its location relative to the step."""
    match step:
        case WaitUntilStep():
            return ((("on_timeout",), step.on_timeout),)
        case BranchStep():
            return (("then",), step.then), (("else",), step.otherwise)
        case BySegmentStep():
            nested = tuple((("by_segment", name), steps) for name, steps in step.by_segment.items())
            return (*nested, (("else",), step.otherwise))
        case VariantStep():
            return ((("steps",), step.steps),)
        case _:
            return ()
