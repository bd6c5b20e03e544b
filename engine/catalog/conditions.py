"""The condition language, one for stages, segments, branches, goals and waits.

A condition is a YAML mapping whose kind is the key it carries:

    all: [...] / any: [...] / not: {...}              combine
    trait: plan, equals: pro                          compare a profile trait (one operator)
    trait: trial_ends_at, in_next: 3d                 a date trait against now (see below)
    event: campaign_sent, at_least: 3, within: 7d     behaviour, optionally filtered by `where`
    stage: activation, within: 2d                     stage reached (recently)
    segment: power_user                               member of a segment
    cluster: 2, model: personas, version: 1           assigned to a discovered persona
    activation_risk: {above: 0.7}                     scored by the activation model

A date trait (ISO 8601 date or datetime, or Unix seconds) is compared with now by one
of the date operators, each a window of time in which the condition holds:

    in_next: 3d      the date is in the next 3 days (from 3 days before it until it)
    in_last: 3d      the date was in the last 3 days (from it until 3 days after it)
    before: -3d      the date is before now - 3d: it was at least 3 days ago
    after: 7d        the date is after now + 7d: it is more than 7 days away

Evaluation lives in `engine.audience.evaluate` (dates in `engine.audience.dates`); these
models only describe and validate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from engine.catalog.fields import (
    Definition,
    Duration,
    Name,
    Offset,
    Orderable,
    Regex,
    Scalar,
    Text,
    tag,
    tagged,
)

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "contains",
    "matches",
)
DATE_OPERATORS = ("before", "after", "in_next", "in_last")


class Comparison(Definition):
    """One operator applied to one value: the shared core of trait conditions and event
    property filters. A missing or incomparable value makes every operator false, except
    `exists: false`."""

    equals: Scalar = None
    not_equals: Scalar = None
    one_of: tuple[Scalar, ...] | None = Field(None, alias="in", min_length=1)
    gt: Orderable = None
    gte: Orderable = None
    lt: Orderable = None
    lte: Orderable = None
    exists: bool | None = None
    contains: Scalar = None
    matches: Regex | None = None

    operators: ClassVar[tuple[str, ...]] = OPERATORS

    @model_validator(mode="after")
    def _one_operator(self) -> Comparison:
        names = self.operators
        given = [name for name in names if self._value_of(name) is not None]
        if not given:
            raise PydanticCustomError(
                "operator",
                "a comparison needs one operator: {names} or {last}",
                {"names": ", ".join(names[:-1]), "last": names[-1]},
            )
        if len(given) > 1:
            raise PydanticCustomError(
                "operator",
                "use one operator per comparison, found '{first}' and '{second}' "
                "(combine comparisons with all)",
                {"first": given[0], "second": given[1]},
            )
        return self

    @cached_property
    def operator(self) -> tuple[str, Any]:
        """The operator in use and its operand, e.g. `("gte", 50)`; kept, as it is read at
        every evaluation."""
        for name in self.operators:
            value = self._value_of(name)
            if value is not None:
                return name, value
        raise AssertionError("validated comparisons have one operator")

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """Only the operator in use, not nine `None`s."""
        return [(name, value) for name, value in super().__repr_args__() if value is not None]

    def _value_of(self, operator: str) -> Any:
        return getattr(self, "one_of" if operator == "in" else operator)


def _equals_shorthand(value: Any) -> Any:
    """`where: {plan: pro}` means `where: {plan: {equals: pro}}`."""
    return value if isinstance(value, dict | Comparison) else {"equals": value}


PropertyFilter = Annotated[Comparison, BeforeValidator(_equals_shorthand)]


class AllCondition(Definition):
    """Holds when every child holds."""

    kind: ClassVar[str] = "all"
    all: tuple[Condition, ...] = Field(min_length=1)


class AnyCondition(Definition):
    """Holds when at least one child holds."""

    kind: ClassVar[str] = "any"
    any: tuple[Condition, ...] = Field(min_length=1)


class NotCondition(Definition):
    """Holds when its child does not."""

    kind: ClassVar[str] = "not"
    negated: Condition = Field(alias="not")


class TraitCondition(Comparison):
    """Compares one trait; `company.size` reaches into nested traits. The date operators
    read the trait as a moment and compare it with now, so they make the condition
    time-relative."""

    kind: ClassVar[str] = "trait"
    operators: ClassVar[tuple[str, ...]] = (*OPERATORS[:-1], *DATE_OPERATORS, OPERATORS[-1])
    trait: Text
    before: Offset | None = None
    after: Offset | None = None
    in_next: Duration | None = None
    in_last: Duration | None = None

    @model_validator(mode="after")
    def _storable_date_trait(self) -> TraitCondition:
        if self.reads_date and len(self.trait.split(".")[0]) > 255:
            raise PydanticCustomError(
                "trait", "a date trait's name is at most 255 characters (it is stored)"
            )
        return self

    @property
    def reads_date(self) -> bool:
        return self.operator[0] in DATE_OPERATORS


class EventCondition(Definition):
    """The profile did `event` at least `at_least` times, counting only events matching
    `where`, in the last `within`, and (with `since_signup`) after signing up."""

    kind: ClassVar[str] = "event"
    event: Text
    where: Mapping[str, PropertyFilter] = Field(default_factory=dict)
    at_least: int = Field(1, ge=1)
    within: Duration | None = None
    since_signup: bool = False


class StageCondition(Definition):
    """The profile reached `stage` (in the last `within`, when given)."""

    kind: ClassVar[str] = "stage"
    stage: Name
    within: Duration | None = None


class SegmentCondition(Definition):
    """The profile is currently a member of `segment`."""

    kind: ClassVar[str] = "segment"
    segment: Name


class ClusterCondition(Definition):
    """The persona model `model` (at `version`) assigns the profile to `cluster`: what the
    segments written by `parcours personas discover` use. Clusters are only meaningful
    within one version, so the version is required."""

    kind: ClassVar[str] = "cluster"
    cluster: int = Field(ge=0)
    model: Name
    version: int = Field(ge=1)

    @property
    def output_key(self) -> str:
        return f"{self.model}@{self.version}"


class RiskBand(Definition):
    """Strict bounds on a probability: `above`, `below`, or both."""

    above: float | None = Field(None, ge=0, le=1)
    below: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _bounds(self) -> RiskBand:
        if self.above is None and self.below is None:
            raise PydanticCustomError("band", "give a threshold: above, below or both")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise PydanticCustomError("band", "above must be lower than below")
        return self

    def holds(self, value: float) -> bool:
        above = self.above is None or value > self.above
        return above and (self.below is None or value < self.below)


class ActivationRiskCondition(Definition):
    """The activation model's risk that the profile will not activate is in the band.

    `model` defaults to `activation` and `version` to its latest version in the content.
    The risk exists once the model's observation window after signup is over (0 for a
    profile that already activated); before that the condition does not hold.
    """

    kind: ClassVar[str] = "activation_risk"
    activation_risk: RiskBand
    model: Name = "activation"
    version: int | None = Field(None, ge=1)

    @property
    def output_key(self) -> str:
        return self.model if self.version is None else f"{self.model}@{self.version}"


Condition = Annotated[
    Annotated[AllCondition, tag("all")]
    | Annotated[AnyCondition, tag("any")]
    | Annotated[NotCondition, tag("not")]
    | Annotated[TraitCondition, tag("trait")]
    | Annotated[EventCondition, tag("event")]
    | Annotated[StageCondition, tag("stage")]
    | Annotated[SegmentCondition, tag("segment")]
    | Annotated[ClusterCondition, tag("cluster")]
    | Annotated[ActivationRiskCondition, tag("activation_risk")],
    tagged(
        "condition",
        ("all", "any", "not", "trait", "event", "stage", "segment", "cluster", "activation_risk"),
    ),
]

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()
