"""Observations of profiles from their facts, the way ingestion sees them.

The audience service holds a `ProfileFacts` per profile (traits, events, stage entries,
signup time). This module reads what a model needs from any object of that shape — a
protocol, so `engine.ml` does not depend on the audience package that uses it — with the
same window rules as the SQL aggregates used in training:

    an event counts when   signup_at <= timestamp < signup_at + window
    stage hours            (entered_at - signup_at) in hours; NaN when not entered

A profile with no signup time has no window: no events counted, no stage reached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from engine.ml.features import FeatureSpec, Observations


class EventLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def timestamp(self) -> datetime: ...


class FactsLike(Protocol):
    """What a model reads about one profile (`engine.audience.evaluate.ProfileFacts` fits)."""

    @property
    def traits(self) -> Mapping[str, Any]: ...

    @property
    def events(self) -> Sequence[EventLike]: ...

    @property
    def stage_entries(self) -> Mapping[str, datetime]: ...

    @property
    def signup_at(self) -> datetime | None: ...


def observe(facts: Sequence[FactsLike], spec: FeatureSpec) -> Observations:
    """The observations `encode` needs for `facts`, restricted to the spec's events and stages."""
    window = timedelta(hours=spec.window_hours)
    position = {name: j for j, name in enumerate(spec.events)}
    counts = np.zeros((len(facts), len(spec.events)))
    hours = np.full((len(facts), len(spec.stages)), math.nan)
    for i, profile in enumerate(facts):
        start = profile.signup_at
        if start is None:
            continue
        end = start + window
        for event in profile.events:
            j = position.get(event.name)
            if j is not None and start <= event.timestamp < end:
                counts[i, j] += 1
        for j, stage in enumerate(spec.stages):
            entered = profile.stage_entries.get(stage)
            if entered is not None:
                hours[i, j] = (entered - start).total_seconds() / 3600.0
    return Observations(
        traits=[profile.traits for profile in facts],
        event_names=spec.events,
        event_counts=counts,
        stage_names=spec.stages,
        stage_hours=hours,
    )
