"""Synthetic populations with planted structure, as plain values and as database rows.

Four personas differ in traits and early behaviour; every profile also carries noise (a
browser trait and a random score) that no persona explains, and some traits are missing.
Activation is planted separately: `signal` ties it to the first day's campaigns and the
plan, `noise` makes it independent of everything.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import Engine, insert

from engine.audience.repository import stage_entries
from engine.ingest.repository import events, profiles
from engine.ml.features import FeatureSpec, Observations
from engine.ml.observe import observe

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EVENTS = ("campaign_created", "api_called", "teammate_invited", "template_saved", "help_opened")
STAGES = ("first_login", "activation")


@dataclass(frozen=True)
class Event:
    name: str
    timestamp: datetime


@dataclass
class Sketch:
    """One synthetic profile: what the engine would know about it."""

    user_id: str
    traits: dict[str, Any]
    signup_at: datetime
    events: list[Event] = field(default_factory=list)
    stage_entries: dict[str, datetime] = field(default_factory=dict)


PERSONAS: list[dict[str, Any]] = [
    # role, plan, employees (median), per-day rates of each event, hours to first login
    {"role": "marketer", "plan": "trial", "employees": 8, "rates": (3, 0, 0, 2, 1), "login": 2},
    {"role": "developer", "plan": "pro", "employees": 60, "rates": (0, 8, 0, 0, 0), "login": 1},
    {"role": "admin", "plan": "business", "employees": 900, "rates": (0, 0, 4, 0, 0), "login": 30},
    {"role": "founder", "plan": "free", "employees": 2, "rates": (1, 0, 0, 0, 4), "login": 60},
]


def population(
    n: int,
    seed: int,
    activation: Literal["signal", "noise"] = "signal",
    start: datetime = T0,
) -> tuple[list[Sketch], list[int]]:
    """`n` profiles and the persona each was drawn from."""
    rng = random.Random(seed)
    sketches, truth = [], []
    for i in range(n):
        persona = i % len(PERSONAS)
        signup = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 5))
        sketch = _sketch(f"user-{seed}-{i}", PERSONAS[persona], signup, rng)
        _activation(sketch, activation, rng)
        sketches.append(sketch)
        truth.append(persona)
    return sketches, truth


def _sketch(user_id: str, persona: dict[str, Any], signup: datetime, rng: random.Random) -> Sketch:
    traits: dict[str, Any] = {
        "browser": rng.choice(["firefox", "chrome", "safari"]),
        "score": rng.random(),
        "email": f"{user_id}@example.com",
    }
    # Traits are noisy: sometimes missing, sometimes another persona's value.
    for key in ("role", "plan"):
        draw = rng.random()
        if draw < 0.75:
            traits[key] = persona[key]
        elif draw < 0.9:
            traits[key] = rng.choice(PERSONAS)[key]
    if rng.random() < 0.85:
        size = max(1, round(persona["employees"] * math.exp(rng.gauss(0, 0.4))))
        traits["company"] = {"employee_count": size}
    sketch = Sketch(user_id, traits, signup)
    for name, rate in zip(EVENTS, persona["rates"], strict=True):
        for _ in range(_poisson(rng, rate * 3)):  # a three-day window
            sketch.events.append(Event(name, signup + timedelta(hours=rng.uniform(0, 72))))
    login = rng.expovariate(1 / persona["login"])
    if login < 100:
        sketch.stage_entries["first_login"] = signup + timedelta(hours=login)
    return sketch


def _activation(sketch: Sketch, mode: str, rng: random.Random) -> None:
    """Activation between day 2 and day 10, after the first day's observation window."""
    if mode == "signal":
        early = sum(
            1 for e in sketch.events if e.name == "campaign_created" and _day_one(sketch, e)
        )
        logit = -2.2 + 1.6 * early + (1.5 if sketch.traits.get("plan") == "pro" else 0.0)
        chance = 1 / (1 + math.exp(-logit))
    else:
        chance = 0.35
    if rng.random() < chance:
        sketch.stage_entries["activation"] = sketch.signup_at + timedelta(
            hours=rng.uniform(30, 240)
        )


def _day_one(sketch: Sketch, event: Event) -> bool:
    return event.timestamp < sketch.signup_at + timedelta(hours=24)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    count, total = 0, rng.expovariate(1.0)
    while total < lam:
        count, total = count + 1, total + rng.expovariate(1.0)
    return count


def observations(sketches: Sequence[Sketch], window_hours: float = 72.0) -> Observations:
    """Observations over every synthetic event and stage, as the repository gathers them."""
    everything = FeatureSpec(window_hours, events=EVENTS, stages=STAGES)
    return observe(sketches, everything)


def activated(sketches: Sequence[Sketch]) -> np.ndarray:
    return np.array(["activation" in s.stage_entries for s in sketches])


def store(engine: Engine, sketches: Sequence[Sketch]) -> None:
    """Write the sketches as profiles, signup and stage entries, and track events."""
    with engine.begin() as conn:
        rows = [
            {
                "user_id": sketch.user_id,
                "traits": sketch.traits,
                "first_seen_at": sketch.signup_at,
                "last_seen_at": sketch.signup_at,
                "created_at": sketch.signup_at,
                "updated_at": sketch.signup_at,
            }
            for sketch in sketches
        ]
        returning = insert(profiles).returning(profiles.c.id, sort_by_parameter_order=True)
        ids = [row[0] for row in conn.execute(returning, rows)]
        entries = [
            {"profile_id": number, "stage": stage, "entered_at": at}
            for number, sketch in zip(ids, sketches, strict=True)
            for stage, at in {"signup": sketch.signup_at, **sketch.stage_entries}.items()
        ]
        conn.execute(insert(stage_entries), entries)
        rows = [
            {
                "message_id": f"{sketch.user_id}-{index}",
                "profile_id": number,
                "type": "track",
                "name": event.name,
                "user_id": sketch.user_id,
                "properties": {},
                "context": {},
                "timestamp": event.timestamp,
                "received_at": event.timestamp,
            }
            for number, sketch in zip(ids, sketches, strict=True)
            for index, event in enumerate(sketch.events)
        ]
        if rows:
            conn.execute(insert(events), rows)
