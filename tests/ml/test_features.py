"""The feature encoding: windows, unseen categories, missing and ill-typed traits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engine.ml.features import (
    CategoricalTrait,
    FeatureSpec,
    NumericTrait,
    Observations,
    SpecOptions,
    encode,
    infer_spec,
)
from engine.ml.observe import observe
from tests.ml.synthetic import Event, Sketch

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPEC = FeatureSpec(
    window_hours=24.0,
    numeric=(NumericTrait("company.size", log=True, fill=math.log1p(10)),),
    categorical=(CategoricalTrait("plan", ("free", "pro")),),
    events=("campaign_created",),
    stages=("first_login",),
)


def row(
    traits: dict[str, object], events: list[Event] | None = None, **stages: datetime
) -> list[float]:
    sketch = Sketch("u", dict(traits), T, events or [], dict(stages))
    return encode(SPEC, observe([sketch], SPEC))[0].tolist()


def test_columns_describe_every_encoded_value() -> None:
    labels = [c.label for c in SPEC.columns()]
    assert labels == [
        "company.size",
        "company.size:missing",
        "plan=free",
        "plan=pro",
        "plan=(other)",
        "plan:missing",
        "event:campaign_created",
        "stage:first_login:reached",
        "stage:first_login:hours",
    ]
    assert len(row({})) == len(labels)


def test_a_complete_profile_is_encoded_as_documented() -> None:
    events = [Event("campaign_created", T + timedelta(hours=h)) for h in (1, 2, 3)]
    encoded = row(
        {"company": {"size": 99}, "plan": "pro"}, events, first_login=T + timedelta(hours=6)
    )
    assert encoded == pytest.approx([math.log1p(99), 0, 0, 1, 0, 0, math.log1p(3), 1, 6])


def test_missing_unseen_and_ill_typed_traits_never_fail() -> None:
    missing = row({})
    assert missing[:2] == [pytest.approx(math.log1p(10)), 1.0]  # the training median
    assert missing[2:6] == [0, 0, 0, 1]
    unseen = row({"plan": "enterprise", "company": {"size": "many"}})
    assert unseen[:2] == [pytest.approx(math.log1p(10)), 1.0]  # text where a number is due
    assert unseen[2:6] == [0, 0, 1, 0]  # a category never seen in training is "other"
    odd = row({"plan": ["pro"], "company": 3})
    assert odd[1] == 1.0
    assert odd[2:6] == [0, 0, 1, 0]
    assert row({"plan": None})[2:6] == [0, 0, 0, 1]  # null is missing


def test_a_negative_number_in_a_log_feature_is_clamped() -> None:
    assert row({"company": {"size": -5}})[:2] == [0.0, 0.0]


def test_events_and_stages_count_only_inside_the_window() -> None:
    events = [
        Event("campaign_created", T - timedelta(minutes=1)),  # before signup
        Event("campaign_created", T),  # at signup: counts
        Event("campaign_created", T + timedelta(hours=23, minutes=59)),
        Event("campaign_created", T + timedelta(hours=24)),  # the window is half-open
        Event("other_event", T + timedelta(hours=1)),
    ]
    late = row({}, events, first_login=T + timedelta(hours=30))
    assert late[6] == pytest.approx(math.log1p(2))
    assert late[7:] == [0.0, 24.0]  # not reached within the window: hours capped


def test_a_profile_without_signup_has_an_empty_window() -> None:
    sketch = Sketch("u", {}, T, [Event("campaign_created", T)], {"first_login": T})
    sketch.signup_at = None  # type: ignore[assignment]
    encoded = encode(SPEC, observe([sketch], SPEC))[0]
    assert encoded[6] == 0.0
    assert encoded[7] == 0.0


def test_the_spec_survives_its_json_form() -> None:
    assert FeatureSpec.from_json(SPEC.to_json()) == SPEC


def test_inferred_features_skip_identifiers_and_rare_traits() -> None:
    n = 400
    traits = [
        {
            "email": f"user{i}@example.com",  # unique: an identifier
            "plan": ["free", "pro", "team"][i % 3],
            "seats": i % 7,
            "rare": "x" if i < 4 else None,  # 1% of profiles
            "company": {"size": 10 + i},
        }
        for i in range(n)
    ]
    counts = np.zeros((n, 2))
    counts[: n // 2, 0] = 1  # half did `common`, nobody did `never`
    obs = Observations(traits, ("common", "never"), counts, ("first_login",), np.full((n, 1), 2.0))
    spec = infer_spec(obs, 24.0, SpecOptions())
    assert [t.key for t in spec.numeric] == ["company.size", "seats"]
    assert [(t.key, t.categories) for t in spec.categorical] == [("plan", ("free", "pro", "team"))]
    assert spec.events == ("common",)
    assert spec.stages == ()  # everyone reached it: nothing to learn
    only = infer_spec(obs, 24.0, SpecOptions(traits=frozenset({"plan"})))
    assert not only.numeric
    assert [t.key for t in only.categorical] == ["plan"]


def test_events_parcours_writes_are_not_features_by_default() -> None:
    """Internal events that perfectly predict activation: a model must not learn them."""
    n = 300
    activated = np.arange(n) % 3 == 0
    names = ("campaign_created", "tutorial_completed", "email_clicked", "segment_entered")
    counts = np.zeros((n, len(names)))
    counts[:, 0] = np.arange(n) % 2  # the app's own event, unrelated
    counts[activated, 1:] = 1.0  # what the onboarding did, and how users answered it
    obs = Observations([{} for _ in range(n)], names, counts, (), np.empty((n, 0)))
    assert infer_spec(obs, 24.0, SpecOptions()).events == ("campaign_created",)
    everything = infer_spec(obs, 24.0, SpecOptions(exclude_events=frozenset()))
    assert everything.events == names  # opting in keeps them


def test_nearly_unique_text_traits_are_identifiers_whatever_the_population() -> None:
    n = 40  # fewer distinct values than max_distinct: the rule must not depend on it
    traits = [
        {
            "company": {"name": f"Company {i}"},  # one profile each: an identifier
            "team": f"team-{i % 4}",  # shared by ten profiles each
            "city": "Paris" if i < 30 else f"town-{i}",  # mostly shared, some unique
        }
        for i in range(n)
    ]
    obs = Observations(traits, (), np.empty((n, 0)), (), np.empty((n, 0)))
    spec = infer_spec(obs, 24.0, SpecOptions())
    assert [(t.key, t.categories) for t in spec.categorical] == [
        ("city", ("Paris",)),  # a value of one profile is never a category
        ("team", ("team-0", "team-1", "team-2", "team-3")),
    ]
