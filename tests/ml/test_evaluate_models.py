"""Pure evaluation of model conditions: persona assignment and activation risk, re-scored
only when something a model reads changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine.audience.evaluate import (
    EventFact,
    ProfileFacts,
    evaluate,
    update_audience,
    with_model_outputs,
)
from engine.catalog.catalog import Catalog, load_catalog
from engine.catalog.conditions import ClusterCondition
from engine.catalog.dependencies import Dependencies
from tests.ml.conftest import activation_model, persona_model, write
from tests.ml.synthetic import PERSONAS, population

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIME_PASSED = Dependencies(time_relative=True)


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, dict[str, str]]:
    """Four discovered persona segments and an at-risk segment; the persona segment of
    each planted role (the cluster most of that role's training profiles fell in)."""
    directory = tmp_path_factory.mktemp("content")
    write(
        directory,
        "segments/stages.yaml",
        "stages:\n  - stage: signup\n    when: {event: signed_up}\n",
    )
    _, found = persona_model(directory, n=1200, k=4)
    activation_model(directory)
    segments = "\n---\n".join(
        f"segment: p{c}\npriority: {c}\nwhen: {{cluster: {c}, model: personas, version: 1}}"
        for c in range(4)
    )
    write(directory, "segments/personas.yaml", segments + "\n")
    write(
        directory,
        "segments/at_risk.yaml",
        "segment: at_risk\npriority: 10\nwhen: {activation_risk: {above: 0.6}}\n",
    )
    catalog, problems = load_catalog(directory)
    assert catalog is not None, problems
    _, truth = population(1200, seed=3)  # the training population of persona_model
    by_role = {
        persona["role"]: f"p{np.bincount(found.labels[np.array(truth) == i]).argmax()}"
        for i, persona in enumerate(PERSONAS)
    }
    assert len(set(by_role.values())) == 4
    return catalog, by_role


def facts_of(role: str, seed: int = 21) -> ProfileFacts:
    """A fresh profile drawn from the planted persona with this role, signed up at NOW."""
    sketches, truth = population(8, seed, start=NOW)
    index = next(i for i, t in enumerate(truth) if PERSONAS[t]["role"] == role)
    sketch = sketches[index]
    shift = NOW - sketch.signup_at
    return ProfileFacts(
        traits={**sketch.traits, "role": role},
        events=[EventFact(e.name, {}, e.timestamp + shift) for e in sketch.events],
        stage_entries={"signup": NOW},
        signup_at=NOW,
    )


@pytest.mark.parametrize("role", ["marketer", "developer", "admin", "founder"])
def test_a_new_profile_gets_the_persona_it_was_drawn_from(
    content: tuple[Catalog, dict[str, str]], role: str
) -> None:
    catalog, by_role = content
    update = update_audience(catalog, facts_of(role), NOW + timedelta(days=3))
    assert update.segments - {"at_risk"} == {by_role[role]}
    assert update.primary_persona in {by_role[role], "at_risk"}


@pytest.mark.parametrize(
    "traits",
    [{}, {"role": "astronaut", "plan": "galactic"}, {"role": 7, "company": "big", "plan": None}],
)
def test_unseen_categories_and_missing_traits_still_get_one_persona(
    content: tuple[Catalog, dict[str, str]], traits: dict[str, object]
) -> None:
    catalog, _ = content
    facts = ProfileFacts(traits=traits, stage_entries={"signup": NOW}, signup_at=NOW)
    update = update_audience(catalog, facts, NOW)
    assert len(update.segments & {"p0", "p1", "p2", "p3"}) == 1


def test_personas_are_rescored_only_when_what_they_read_changes(
    content: tuple[Catalog, dict[str, str]],
) -> None:
    catalog, by_role = content
    wrong = next(s for s in ("p0", "p1", "p2", "p3") if s != by_role["developer"])
    stale = replace(facts_of("developer"), segments=frozenset({wrong}))
    unrelated = update_audience(catalog, stale, NOW, Dependencies(event_names=frozenset({"x"})))
    assert unrelated.segments == {wrong}  # nothing the model reads changed: kept as stored
    moved = update_audience(
        catalog, stale, NOW, Dependencies(event_names=frozenset({"api_called"}))
    )
    assert moved.segments - {"at_risk"} == {by_role["developer"]}
    assert moved.exited_segments == {wrong}
    traits = update_audience(catalog, stale, NOW, Dependencies(trait_keys=frozenset({"company"})))
    assert traits.segments - {"at_risk"} == {by_role["developer"]}  # company.employee_count


def quiet(plan: str) -> ProfileFacts:
    return ProfileFacts(traits={"plan": plan}, stage_entries={"signup": NOW}, signup_at=NOW)


def test_activation_risk_appears_when_the_observation_window_closes(
    content: tuple[Catalog, dict[str, str]],
) -> None:
    catalog, _ = content
    during = update_audience(catalog, quiet("free"), NOW + timedelta(hours=23))
    assert "at_risk" not in during.segments  # the first day is not over: no score yet
    after = update_audience(catalog, quiet("free"), NOW + timedelta(hours=25), TIME_PASSED)
    assert "at_risk" in after.segments  # silent through day one: the planted signal says risk


def test_an_engaged_or_activated_profile_is_not_at_risk(
    content: tuple[Catalog, dict[str, str]],
) -> None:
    catalog, _ = content
    day_one = [EventFact("campaign_created", {}, NOW + timedelta(hours=h)) for h in (1, 2, 3)]
    engaged = replace(quiet("pro"), events=day_one)
    assert "at_risk" not in update_audience(catalog, engaged, NOW + timedelta(hours=30)).segments
    activated = replace(quiet("free"), stage_entries={"signup": NOW, "activation": NOW})
    scored = with_model_outputs(catalog, activated, NOW + timedelta(hours=30))
    assert scored.model_outputs["activation"] == 0.0
    assert "at_risk" not in update_audience(catalog, activated, NOW + timedelta(hours=30)).segments


def test_flows_can_score_a_profile_for_their_own_conditions(
    content: tuple[Catalog, dict[str, str]],
) -> None:
    catalog, by_role = content
    facts = with_model_outputs(catalog, facts_of("admin"), NOW + timedelta(days=2))
    assert set(facts.model_outputs) == {"personas@1", "activation"}
    cluster = int(by_role["admin"][1])
    condition = ClusterCondition(cluster=cluster, model="personas", version=1)
    assert evaluate(condition, facts, NOW)
    assert not evaluate(condition.model_copy(update={"cluster": (cluster + 1) % 4}), facts, NOW)
    # Without scores, model conditions are simply false.
    assert not evaluate(condition, facts_of("admin"), NOW)


def test_a_segment_mixing_a_cluster_with_other_facts_sees_the_model_when_they_change(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "segments/stages.yaml",
        "stages:\n  - stage: signup\n    when: {event: signed_up}\n",
    )
    persona_model(tmp_path, n=400, k=2)
    clusters = "\n---\n".join(
        f"segment: vip{c}\npriority: {c}\nwhen:\n  all:\n"
        f"    - {{cluster: {c}, model: personas, version: 1}}\n    - {{trait: vip, equals: true}}"
        for c in range(2)
    )
    write(tmp_path, "segments/vip.yaml", clusters + "\n")
    catalog, problems = load_catalog(tmp_path)
    assert catalog is not None, problems
    facts = ProfileFacts(traits={"vip": True}, stage_entries={"signup": NOW}, signup_at=NOW)
    (member,) = update_audience(catalog, facts, NOW).segments
    # `vip` is no input of the model, yet the segment reading it must see the cluster.
    again = replace(facts, traits={"vip": True, "nickname": "x"}, segments=frozenset({member}))
    update = update_audience(catalog, again, NOW, Dependencies(trait_keys=frozenset({"vip"})))
    assert update.segments == {member}
    assert not update.exited_segments
