"""Pure evaluation of the condition language against facts about one profile.

No database, no HTTP, no settings, no clock: the caller gathers `ProfileFacts` and passes
`now`, so the same function serves ingestion, the periodic re-evaluation of time-relative
conditions, simulations and tests with plain values.

Semantics worth knowing:
- A missing trait (or property), or one of the wrong type, makes a comparison false, never an
  error: `equals`, `not_equals`, `in`, `gt`..., `contains` and `matches` are all false on a
  missing value; `exists: false` is the way to ask for absence.
- Equality is by JSON type: `true` is not `1`, `"1"` is not `1`; `1` equals `1.0`. Ordering
  compares numbers with numbers and strings with strings; anything else is false.
- `within` windows look back from `now`; events stamped after `now` (client clock skew)
  still count.
- Date operators (`in_next`, `in_last`, `before`, `after`) read the trait as a moment in the
  profile's `timezone` trait (else `default_timezone`); a value that names no moment makes
  them false (`engine.audience.dates`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from engine.audience import dates
from engine.catalog.catalog import Catalog
from engine.catalog.conditions import (
    ActivationRiskCondition,
    AllCondition,
    AnyCondition,
    ClusterCondition,
    Comparison,
    Condition,
    EventCondition,
    NotCondition,
    SegmentCondition,
    StageCondition,
    TraitCondition,
)
from engine.catalog.definitions import Segment, Stage
from engine.catalog.dependencies import Dependencies, cached_dependencies
from engine.ml.scoring import model_uses, score

MISSING: Any = object()
"""What `lookup` returns for an absent key (distinct from a present `None`)."""

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclass(frozen=True)
class EventFact:
    """One event of the profile, as far as conditions care."""

    name: str
    properties: Mapping[str, Any]
    timestamp: datetime


@dataclass(frozen=True)
class ProfileFacts:
    """Everything a condition may read about one profile.

    `events` need only hold events whose names some condition reads (see `dependencies`);
    `signup_at` is when the profile signed up, for `since_signup` counts. `model_outputs`
    holds model scores by the key conditions name (`personas@1`, `activation`), filled by
    `update_audience` or `with_model_outputs`; a missing score makes model conditions false.
    `default_timezone` places date traits of a profile without a valid `timezone` trait.
    """

    traits: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[EventFact] = ()
    stage_entries: Mapping[str, datetime] = field(default_factory=dict)
    segments: frozenset[str] = frozenset()
    signup_at: datetime | None = None
    model_outputs: Mapping[str, int | float | None] = field(default_factory=dict)
    default_timezone: str = "UTC"


@dataclass(frozen=True)
class AudienceUpdate:
    """What one evaluation changed: stages entered now, and segment memberships."""

    entered_stages: Mapping[str, datetime]
    segments: frozenset[str]
    entered_segments: frozenset[str]
    exited_segments: frozenset[str]
    primary_persona: str | None


def evaluate(condition: Condition, facts: ProfileFacts, now: datetime) -> bool:
    """Whether `condition` holds for the profile described by `facts` at `now`."""
    match condition:
        case AllCondition():
            return all(evaluate(child, facts, now) for child in condition.all)
        case AnyCondition():
            return any(evaluate(child, facts, now) for child in condition.any)
        case NotCondition():
            return not evaluate(condition.negated, facts, now)
        case TraitCondition() if condition.reads_date:
            zone = dates.profile_zone(facts.traits, facts.default_timezone)
            return dates.holds(condition, lookup(facts.traits, condition.trait), zone, now)
        case TraitCondition():
            return compare(condition, lookup(facts.traits, condition.trait))
        case EventCondition():
            return _count(condition, facts, now) >= condition.at_least
        case StageCondition():
            entered = facts.stage_entries.get(condition.stage)
            return entered is not None and _recent(entered, condition.within, now)
        case SegmentCondition():
            return condition.segment in facts.segments
        case ClusterCondition():
            cluster = facts.model_outputs.get(condition.output_key)
            return isinstance(cluster, int) and cluster == condition.cluster
        case ActivationRiskCondition():
            risk = facts.model_outputs.get(condition.output_key)
            return risk is not None and condition.activation_risk.holds(risk)


def lookup(values: Mapping[str, Any], key: str) -> Any:
    """`values[key]`, or a nested value for a dotted key (`company.size`), or `MISSING`."""
    if key in values:
        return values[key]
    current: Any = values
    for part in key.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return MISSING
        current = current[part]
    return current


def compare(comparison: Comparison, value: Any) -> bool:
    """Apply the comparison's operator to `value` (`MISSING` when absent)."""
    name, operand = comparison.operator
    if name == "exists":
        return (value is not MISSING and value is not None) is operand
    if value is MISSING or value is None:
        return False
    match name:
        case "equals":
            return _same(value, operand)
        case "not_equals":
            return not _same(value, operand)
        case "in":
            return any(_same(value, option) for option in operand)
        case "gt" | "gte" | "lt" | "lte":
            return _comparable(value, operand) and _ORDER[name](value, operand)
        case "contains":
            if isinstance(value, str):
                return isinstance(operand, str) and operand in value
            return isinstance(value, list | tuple) and any(_same(item, operand) for item in value)
        case _:  # matches
            return isinstance(value, str) and re.search(operand, value) is not None


def _comparable(value: Any, operand: Any) -> bool:
    both_numbers = _is_number(value) and _is_number(operand)
    return both_numbers or (isinstance(value, str) and isinstance(operand, str))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(value: Any, operand: Any) -> bool:
    if _is_number(value) and _is_number(operand):
        return bool(value == operand)
    return type(value) is type(operand) and bool(value == operand)


def _count(condition: EventCondition, facts: ProfileFacts, now: datetime) -> int:
    """Events named like the condition, matching its filters, inside its window."""
    bounds = [now - condition.within] if condition.within is not None else []
    if condition.since_signup:
        if facts.signup_at is None:
            return 0
        bounds.append(facts.signup_at)
    since = max(bounds, default=None)
    return sum(
        1
        for event in facts.events
        if event.name == condition.event
        and (since is None or event.timestamp >= since)
        and matches_filters(condition.where, event.properties)
    )


def matches_filters(where: Mapping[str, Comparison], properties: Mapping[str, Any]) -> bool:
    """Whether event `properties` pass every `where` filter (also used by flow triggers)."""
    return all(compare(f, lookup(properties, k)) for k, f in where.items())


def _recent(moment: datetime, within: timedelta | None, now: datetime) -> bool:
    return within is None or moment >= now - within


def entered_stages(
    stages: Sequence[Stage],
    facts: ProfileFacts,
    now: datetime,
    changed: Dependencies | None = None,
) -> dict[str, datetime]:
    """The stages entered at `now`, in catalog order.

    A stage is entered once: the first time its condition holds, and, for an ordered stage,
    once the ordered stage before it has been entered (possibly in this same pass, so one
    event can carry a profile through several stages). With `changed`, only stages whose
    condition reads something that changed (or whose predecessor was just entered) are
    evaluated (a stage entered in this pass counts as a change); others cannot have started
    to hold.
    """
    entries = dict(facts.stage_entries)
    current = replace(facts, stage_entries=entries)  # sees stages entered earlier in the pass
    entered: dict[str, datetime] = {}
    previous: str | None = None
    for stage in stages:
        ready = not stage.ordered or previous is None or previous in entries
        affected = changed is None or previous in entered or _reads(stage.when, changed)
        if stage.stage not in entries and ready and affected and evaluate(stage.when, current, now):
            entries[stage.stage] = entered[stage.stage] = now
            if changed is not None:
                changed |= Dependencies(stages=frozenset({stage.stage}))
        if stage.ordered:
            previous = stage.stage
    return entered


def matching_segments(
    segments: Mapping[str, Segment],
    facts: ProfileFacts,
    now: datetime,
    changed: Dependencies | None = None,
) -> frozenset[str]:
    """The segments the profile belongs to at `now`.

    `segments` must be in evaluation order (as `Catalog.segments` is), so a segment whose
    condition uses another sees that segment's new membership. With `changed`, segments
    whose condition reads nothing that changed keep their current membership.
    """
    members = set(facts.segments) & set(segments)
    for name, segment in segments.items():
        if changed is not None and not _reads(segment.when, changed):
            continue
        holds = evaluate(segment.when, replace(facts, segments=frozenset(members)), now)
        if holds != (name in members):
            members ^= {name}
            if changed is not None:
                changed |= Dependencies(segments=frozenset({name}))
    return frozenset(members)


def primary_persona(segments: Mapping[str, Segment], members: frozenset[str]) -> str | None:
    """The member segment with the highest priority (priorities are unique in a catalog)."""
    known = [segments[name] for name in members if name in segments]
    return max(known, key=lambda segment: segment.priority).segment if known else None


def update_audience(
    catalog: Catalog, facts: ProfileFacts, now: datetime, changed: Dependencies | None = None
) -> AudienceUpdate:
    """Stages first (they see current memberships), then segments (they see new stages).

    Pass `changed` to evaluate only what a change can affect: for a track call,
    `Dependencies(event_names={name})`; for identify, `Dependencies(trait_keys=keys)`; for the
    periodic job, `Dependencies(time_relative=True)`. None evaluates everything.
    """
    stages = entered_stages(catalog.stages, facts, now, changed)
    after = replace(facts, stage_entries={**facts.stage_entries, **stages})
    if changed is not None:
        changed |= Dependencies(stages=frozenset(stages))
    uses = model_uses(catalog)
    if uses:  # models score after stages (they read them), before segments (which read them)
        outputs, scored = score(uses, after, now, changed)
        after = replace(after, model_outputs={**after.model_outputs, **outputs})
        if changed is not None:
            changed |= Dependencies(models=scored)
    members = matching_segments(catalog.segments, after, now, changed)
    return AudienceUpdate(
        entered_stages=stages,
        segments=members,
        entered_segments=members - facts.segments,
        exited_segments=facts.segments - members,
        primary_persona=primary_persona(catalog.segments, members),
    )


def with_model_outputs(catalog: Catalog, facts: ProfileFacts, now: datetime) -> ProfileFacts:
    """`facts` with the outputs of every model any condition of the catalog uses (flows
    included), for evaluating `cluster` and `activation_risk` outside `update_audience`."""
    outputs, _ = score(model_uses(catalog, "all"), facts, now, None)
    return replace(facts, model_outputs={**facts.model_outputs, **outputs}) if outputs else facts


def _reads(condition: Condition, changed: Dependencies) -> bool:
    return cached_dependencies(condition).overlaps(changed)
