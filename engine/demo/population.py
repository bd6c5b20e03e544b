"""The simulated users of Postwave and how they behave (pure: plain values and an RNG).

Four personas, matching the example segments, each with traits that put them in their
segment and a behaviour model. Whether a user activates (sends a real campaign) on a given
active day depends on the persona and on the onboarding they actually received and used:
completing the guided tutorial, the template tour (only in the `tutorial_first` variant of
the welcome experiment) or the template tip makes a beginner far more likely to send. So the
experiment has a real, persona-dependent effect for the analysis to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

HELPFUL = {"guided-first-campaign": 0.6, "templates-tour": 1.5, "start-from-a-template": 0.3}


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    active: float  # chance of using the product on a given day
    activation: float  # chance of sending a first real campaign on an active day
    guided: float  # how much onboarding content helps (multiplies HELPFUL boosts)
    completes: float  # chance of completing an in-app tutorial that is shown
    explores: float
    integrates: float
    reads: float  # chance of opening an email (a reader clicks its first link a third of the time)


PERSONAS = (
    Persona("beginner_marketer", 0.35, 0.55, 0.03, 1.0, 0.7, 0.25, 0.05, 0.55),
    Persona("power_user", 0.20, 0.85, 0.30, 0.1, 0.2, 0.5, 0.25, 0.25),
    Persona("team_admin", 0.20, 0.60, 0.10, 0.4, 0.5, 0.35, 0.3, 0.45),
    Persona("trial_evaluator", 0.25, 0.65, 0.09, 0.6, 0.5, 0.3, 0.12, 0.35),
)


@dataclass
class SimUser:
    user_id: str
    persona: Persona
    traits: dict[str, Any]
    signup_at: datetime
    used: set[str] = field(default_factory=set)  # in-app content completed
    activated: bool = False
    explored: bool = False
    integrated: bool = False


def population(count: int, start: datetime, signup_days: int, seed: int) -> list[SimUser]:
    rng = random.Random(seed)
    weights = [p.share for p in PERSONAS]
    users = []
    for i in range(count):
        persona = rng.choices(PERSONAS, weights)[0]
        offset = timedelta(days=rng.uniform(0, signup_days))
        users.append(SimUser(f"user-{i:05d}", persona, _traits(persona, i, rng), start + offset))
    return sorted(users, key=lambda u: u.signup_at)


def _traits(persona: Persona, i: int, rng: random.Random) -> dict[str, Any]:
    first = rng.choice(["Sophie", "Max", "Léa", "Marc", "Ana", "Tom", "Inès", "Raj", "Mia"])
    base: dict[str, Any] = {
        "first_name": first,
        "email": f"user{i}@{rng.choice(['studio', 'northwind', 'lumen', 'acme'])}.example",
        "plan": "starter",
        "locale": rng.choice(["en", "en", "en", "fr"]),
        "timezone": rng.choice(["Europe/Paris", "America/New_York", "UTC"]),
    }
    match persona.name:
        case "beginner_marketer":
            role = rng.choice(["marketing_manager", "marketer", "founder"])
            return base | {"role": role, "email_experience": rng.choice(["none", "beginner"])}
        case "power_user":
            return base | {"role": "marketer", "email_experience": "expert", "plan": "pro"}
        case "team_admin":
            size = rng.choice([60, 120, 400])
            return base | {
                "role": "head_of_marketing",
                "email_experience": "intermediate",
                "company": {"name": "Northwind", "employee_count": size},
            }
        case _:
            return base | {"role": "designer", "email_experience": "intermediate", "plan": "trial"}


def signup_events(user: SimUser, rng: random.Random) -> list[dict[str, Any]]:
    events = [
        {"type": "track", "event": "page_viewed", "properties": {"page": "pricing"}},
        {"type": "identify", "traits": user.traits},
        {"type": "track", "event": "signed_up", "properties": {"plan": user.traits["plan"]}},
    ]
    if rng.random() < 0.85:
        events.append({"type": "track", "event": "logged_in", "properties": {}})
    return events


def day_events(user: SimUser, rng: random.Random, day: int) -> list[dict[str, Any]]:
    """What the user does on day `day` after signing up (nothing, on inactive days). The
    product sends `logged_in` once a session, but the demo reports it only in the first
    week: later sessions change no stage or flow and would only slow the demo down."""
    persona = user.persona
    if rng.random() > persona.active or (user.integrated and rng.random() < 0.7):
        return []
    events: list[dict[str, Any]] = []
    if day <= 7:
        events.append({"type": "track", "event": "logged_in", "properties": {}})
    if not user.activated:
        if rng.random() < 0.5:
            events.append(_track("campaign_created"))
        if rng.random() < activation_chance(user):
            user.activated = True
            events.append(_track("campaign_sent", is_test=False, recipients=rng.randint(50, 5000)))
        elif rng.random() < 0.2:
            events.append(_track("campaign_sent", is_test=True))
        return events
    if persona.name == "power_user" and rng.random() < 0.6:
        events.append(_track("shortcut_used"))
    if persona.name == "team_admin" and rng.random() < 0.3:
        events.append(_track("teammate_invited"))
    if not user.explored and rng.random() < persona.explores:
        user.explored = True
        events.append(_track(rng.choice(["automation_created", "template_saved"])))
    if user.explored and not user.integrated and rng.random() < persona.integrates:
        user.integrated = True
        events.append(_track("integration_connected", tool=rng.choice(["hubspot", "shopify"])))
    return events


def activation_chance(user: SimUser) -> float:
    boost = sum(HELPFUL.get(item, 0.0) for item in user.used) * user.persona.guided
    return min(0.95, user.persona.activation * (1 + boost))


def _track(name: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": name, "properties": properties}
