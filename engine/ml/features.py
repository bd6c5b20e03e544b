"""Features of a profile's first days, from plain values: the one encoding every model uses.

Discovery and training read per-profile aggregates from SQL; ingestion reads one profile's
facts. Both are turned into the same `Observations` (traits, event counts in the window,
hours from signup to each stage) and encoded by the same `encode`, so a model sees exactly
the features it was trained on, whichever path produced them.

Columns, per source (the `FeatureSpec` fixed at training time says which sources exist):

    numeric trait     value (log1p when never negative in training; median when missing),
                      and a missing indicator
    categorical trait one column per known category, one for any other value, one for missing
    event             log1p(times done in the window)
    stage             reached within the window (0/1), and hours to reach it (window if not)

Unknown categories, missing traits and values of the wrong type land in the `other` or
`missing` columns: encoding never fails on a profile.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.catalog.internal_events import INTERNAL_EVENTS

Matrix = npt.NDArray[np.float64]
_MISSING: Any = object()
ColumnKind = Literal["numeric", "numeric_missing", "category", "other", "missing", "event"]
StageKind = Literal["reached", "hours"]


@dataclass(frozen=True)
class NumericTrait:
    """A trait read as a number; `fill` (in encoded units) replaces a missing value."""

    key: str
    log: bool
    fill: float


@dataclass(frozen=True)
class CategoricalTrait:
    """A trait read as text (booleans as `true`/`false`), with its frequent categories."""

    key: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    """What one column of the matrix means, for descriptions and reports."""

    source: Literal["trait", "event", "stage"]
    key: str
    kind: ColumnKind | StageKind
    value: str | None = None

    @property
    def label(self) -> str:
        """A short stable name such as `role=marketer` or `stage:activation:hours`."""
        if self.source == "trait":
            suffix = {"numeric": "", "numeric_missing": ":missing", "other": "=(other)"}
            if self.kind == "category":
                return f"{self.key}={self.value}"
            return self.key + suffix.get(self.kind, ":missing")
        if self.source == "event":
            return f"event:{self.key}"
        return f"stage:{self.key}:{self.kind}"


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a model uses, fixed when it is trained and saved in its manifest."""

    window_hours: float
    numeric: tuple[NumericTrait, ...] = ()
    categorical: tuple[CategoricalTrait, ...] = ()
    events: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()

    def columns(self) -> list[Column]:
        """The columns `encode` produces, in order."""
        out: list[Column] = []
        for num in self.numeric:
            out += [
                Column("trait", num.key, "numeric"),
                Column("trait", num.key, "numeric_missing"),
            ]
        for cat in self.categorical:
            out += [Column("trait", cat.key, "category", value) for value in cat.categories]
            out += [Column("trait", cat.key, "other"), Column("trait", cat.key, "missing")]
        out += [Column("event", name, "event") for name in self.events]
        for stage in self.stages:
            out += [Column("stage", stage, "reached"), Column("stage", stage, "hours")]
        return out

    def binary(self) -> npt.NDArray[np.bool_]:
        """Which columns are 0/1 indicators (categories, missing flags, stage reached)."""
        continuous = ("numeric", "event", "hours")
        return np.array([column.kind not in continuous for column in self.columns()], dtype=bool)

    @property
    def trait_keys(self) -> frozenset[str]:
        """Top-level trait keys read (an identify replaces whole top-level values)."""
        keys = [t.key for t in self.numeric] + [t.key for t in self.categorical]
        return frozenset(key.split(".")[0] for key in keys) | frozenset(keys)

    def to_json(self) -> dict[str, Any]:
        return {
            "window_hours": self.window_hours,
            "numeric": [{"key": t.key, "log": t.log, "fill": t.fill} for t in self.numeric],
            "categorical": [
                {"key": t.key, "categories": list(t.categories)} for t in self.categorical
            ],
            "events": list(self.events),
            "stages": list(self.stages),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """The spec saved by `to_json`; KeyError/TypeError/ValueError on a malformed one."""
        return cls(
            window_hours=float(data["window_hours"]),
            numeric=tuple(
                NumericTrait(str(t["key"]), bool(t["log"]), float(t["fill"]))
                for t in data["numeric"]
            ),
            categorical=tuple(
                CategoricalTrait(str(t["key"]), tuple(str(c) for c in t["categories"]))
                for t in data["categorical"]
            ),
            events=tuple(str(name) for name in data["events"]),
            stages=tuple(str(name) for name in data["stages"]),
        )


@dataclass(frozen=True)
class Observations:
    """Raw facts of n profiles, columnar: what `encode` turns into a matrix.

    `event_counts[i, j]` is how often profile i did `event_names[j]` in its first window;
    `stage_hours[i, j]` the hours from its signup to `stage_names[j]` (NaN: not reached).
    """

    traits: Sequence[Mapping[str, Any]]
    event_names: tuple[str, ...]
    event_counts: Matrix
    stage_names: tuple[str, ...]
    stage_hours: Matrix

    def __len__(self) -> int:
        return len(self.traits)


def lookup(traits: Mapping[str, Any], key: str) -> Any:
    """`traits[key]`, or a nested value for a dotted key, or a private missing marker.

    The same rule as the condition language: an exact dotted key wins over nesting.
    """
    if key in traits:
        return traits[key]
    current: Any = traits
    for part in key.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def category_of(value: Any) -> str | None:
    """The category a trait value falls in: text as is, booleans as `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


def encode(spec: FeatureSpec, obs: Observations) -> Matrix:
    """The n x d feature matrix of `obs` under `spec` (d = len(spec.columns()))."""
    n = len(obs)
    blocks: list[Matrix] = []
    for num in spec.numeric:
        blocks.append(_numeric(num, [lookup(t, num.key) for t in obs.traits]))
    for cat in spec.categorical:
        blocks.append(_categorical(cat, [lookup(t, cat.key) for t in obs.traits]))
    blocks.append(np.log1p(_select(obs.event_counts, obs.event_names, spec.events, n, 0.0)))
    hours = _select(obs.stage_hours, obs.stage_names, spec.stages, n, math.nan)
    reached = ~np.isnan(hours) & (hours <= spec.window_hours)
    timing = np.where(reached, np.clip(hours, 0.0, spec.window_hours), spec.window_hours)
    stages = np.empty((n, 2 * len(spec.stages)))
    stages[:, 0::2] = reached
    stages[:, 1::2] = timing
    blocks.append(stages)
    return np.hstack(blocks) if blocks else np.empty((n, 0))


def _numeric(trait: NumericTrait, values: list[Any]) -> Matrix:
    raw = np.array([v if is_number(v) else math.nan for v in values], dtype=np.float64)
    missing = np.isnan(raw)
    if trait.log:
        # A negative value in a log feature (never seen in training) is clamped, not NaN.
        raw = np.log1p(np.maximum(raw, 0.0))
    out = np.empty((len(values), 2))
    out[:, 0] = np.where(missing, trait.fill, raw)
    out[:, 1] = missing
    return out


def _categorical(trait: CategoricalTrait, values: list[Any]) -> Matrix:
    width = len(trait.categories)
    index = {name: i for i, name in enumerate(trait.categories)}
    codes = np.fromiter(
        (
            width + 1
            if v is _MISSING or v is None
            else index.get(category_of(v) or "\0", width)  # unknown or wrong type: other
            for v in values
        ),
        dtype=np.int64,
        count=len(values),
    )
    out = np.zeros((len(values), width + 2))
    out[np.arange(len(values)), codes] = 1.0
    return out


def _select(
    values: Matrix, names: tuple[str, ...], wanted: tuple[str, ...], n: int, default: float
) -> Matrix:
    """The columns of `values` named `wanted`, in that order (`default` for absent names)."""
    position = {name: i for i, name in enumerate(names)}
    out = np.full((n, len(wanted)), default)
    for j, name in enumerate(wanted):
        if name in position:
            out[:, j] = values[:, position[name]]
    return out


@dataclass(frozen=True)
class SpecOptions:
    """How `infer_spec` chooses features.

    min_share: a trait, event or stage must concern at least this share of profiles.
    max_categories: most frequent values one-hot encoded per categorical trait.
    max_distinct, max_unique_share: a text trait is an identifier (email, name, company
        name, free text) and is left out when it is nearly unique per profile — at least
        `max_unique_share` of the profiles having it hold a value no other profile shares —
        or when it has more than `max_distinct` values and its frequent ones cover less
        than half of it. A category must be shared by at least two profiles.
    traits: only these trait keys (None: every suitable one); exclude: never these.
    exclude_events: event names never used; by default the events Parcours writes itself
        (in-app outcomes, email engagement, stage and segment changes...), so a model
        learns who users are, not what the onboarding did to them.
    """

    min_share: float = 0.05
    max_categories: int = 10
    max_distinct: int = 50
    max_unique_share: float = 0.5
    traits: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    exclude_events: frozenset[str] = INTERNAL_EVENTS
    sample: int = 50_000


def infer_spec(obs: Observations, window_hours: float, options: SpecOptions) -> FeatureSpec:
    """The features worth using in `obs`: frequent traits, events and stages that vary."""
    n = len(obs)
    rows = range(n) if n <= options.sample else np.linspace(0, n - 1, options.sample).astype(int)
    sample = [obs.traits[i] for i in rows]
    numeric, categorical = _trait_features(sample, options)
    need = max(1, math.ceil(options.min_share * n))
    events = tuple(
        name
        for j, name in enumerate(obs.event_names)
        if name not in options.exclude_events
        and int(np.count_nonzero(obs.event_counts[:, j] > 0)) >= need
    )
    stages = tuple(
        name
        for j, name in enumerate(obs.stage_names)
        if need <= int(np.count_nonzero(obs.stage_hours[:, j] <= window_hours)) <= n - need
    )
    return FeatureSpec(window_hours, numeric, categorical, events, stages)


def _trait_features(
    sample: Sequence[Mapping[str, Any]], options: SpecOptions
) -> tuple[tuple[NumericTrait, ...], tuple[CategoricalTrait, ...]]:
    values: dict[str, list[Any]] = {}
    for traits in sample:
        for key, value in _flatten(traits):
            values.setdefault(key, []).append(value)
    need = max(1, math.ceil(options.min_share * len(sample)))
    numeric: list[NumericTrait] = []
    categorical: list[CategoricalTrait] = []
    for key in sorted(values):
        present = [v for v in values[key] if v is not None]
        wanted = options.traits is None or key in options.traits
        if len(present) < need or not wanted or key in options.exclude:
            continue
        numbers = [float(v) for v in present if is_number(v)]
        if len(numbers) >= 0.9 * len(present):
            log = min(numbers) >= 0
            encoded = np.log1p(numbers) if log else np.array(numbers)
            numeric.append(NumericTrait(key, log, float(np.median(encoded))))
            continue
        categories = _categories([category_of(v) for v in present], options)
        if categories:
            categorical.append(CategoricalTrait(key, categories))
    return tuple(numeric), tuple(categorical)


def _flatten(traits: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    """Top-level traits, and one level of nested ones as `company.employee_count`."""
    for key, value in traits.items():
        if isinstance(value, Mapping):
            for inner, nested in value.items():
                if not isinstance(nested, Mapping | list):
                    yield f"{key}.{inner}", nested
        elif not isinstance(value, list):
            yield key, value


def _categories(texts: list[str | None], options: SpecOptions) -> tuple[str, ...]:
    """The frequent categories, or none for an identifier-like or mostly non-text trait."""
    counts = Counter(t for t in texts if t is not None)
    if not counts or sum(counts.values()) < 0.9 * len(texts):
        return ()
    present = sum(counts.values())
    unique = sum(1 for count in counts.values() if count == 1)
    top = counts.most_common(options.max_categories)
    covered = sum(count for _, count in top) / present
    if unique >= options.max_unique_share * present or (
        len(counts) > options.max_distinct and covered < 0.5
    ):
        return ()  # an identifier: emails, names, company names, free text
    floor = max(2, math.ceil(0.01 * len(texts)))
    return tuple(sorted(value for value, count in top if count >= floor))
