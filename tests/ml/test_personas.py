"""Discovery recovers planted personas and describes them by what was planted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from engine.ml.describe import describe_clusters
from engine.ml.features import FeatureSpec, SpecOptions, encode, infer_spec
from engine.ml.personas import DiscoveryError, DiscoveryOptions, discover
from tests.ml.synthetic import PERSONAS, activated, observations, population


def planted(n: int, seed: int) -> tuple[FeatureSpec, np.ndarray, list[int], np.ndarray]:
    sketches, truth = population(n, seed)
    obs = observations(sketches)
    spec = infer_spec(obs, 72.0, SpecOptions())
    # Activation is the outcome personas are described by, not a feature (as in discovery).
    spec = FeatureSpec(
        spec.window_hours, spec.numeric, spec.categorical, spec.events, ("first_login",)
    )
    return spec, encode(spec, obs), truth, activated(sketches)


@pytest.mark.parametrize("seed", [1, 2])
def test_discovery_recovers_the_planted_personas(seed: int) -> None:
    spec, matrix, truth, _ = planted(2000, seed)
    found = discover(matrix, DiscoveryOptions(seed=seed), spec.binary())
    assert found.k == 4  # chosen by silhouette among 2..8
    assert max(found.candidates, key=lambda c: c.silhouette).k == 4
    assert adjusted_rand_score(truth, found.labels) >= 0.9
    # The saved pipeline predicts the same clusters as the labels returned.
    assert (found.pipeline.predict(matrix) == found.labels).all()
    sizes = np.bincount(found.labels)
    assert list(sizes) == sorted(sizes, reverse=True)  # cluster 0 is the largest


def test_noise_traits_do_not_drive_the_clusters() -> None:
    spec, matrix, truth, _ = planted(2000, 5)
    found = discover(matrix, DiscoveryOptions(k=4), spec.binary())
    browsers = [c.value for c in spec.columns() if c.key == "browser" and c.kind == "category"]
    assert browsers  # the noise trait is a feature...
    for cluster in range(4):  # ...but every persona has every browser in about equal shares
        members = matrix[found.labels == cluster]
        columns = [j for j, c in enumerate(spec.columns()) if c.key == "browser"][:3]
        assert members[:, columns].mean(axis=0) == pytest.approx([1 / 3] * 3, abs=0.08)
    assert adjusted_rand_score(truth, found.labels) >= 0.9


def test_each_persona_is_described_by_what_was_planted() -> None:
    spec, matrix, truth, activation = planted(2000, 7)
    found = discover(matrix, DiscoveryOptions(k=4, seed=7), spec.binary())
    profiles = describe_clusters(spec, matrix, found.labels, found.k, activation)
    for profile in profiles:
        members = np.array(truth)[found.labels == profile.cluster]
        persona = PERSONAS[np.bincount(members).argmax()]
        text = " ".join(t.text for t in profile.traits)
        planted_words = [persona["role"], persona["plan"]]
        planted_words += {"developer": ["api_called"], "admin": ["teammate_invited"]}.get(
            persona["role"], []
        )
        assert any(word in text for word in planted_words), text
        assert profile.size == len(members)
        assert profile.activation_rate == pytest.approx(
            activation[found.labels == profile.cluster].mean()
        )
        sources = {c.label: (c.source, c.key) for c in spec.columns()}
        assert len({sources[t.column] for t in profile.traits}) == len(profile.traits)
    assert sum(p.share for p in profiles) == pytest.approx(1.0)


def test_a_fixed_k_is_used_as_given() -> None:
    spec, matrix, _, _ = planted(800, 3)
    found = discover(matrix, DiscoveryOptions(k=3), spec.binary())
    assert found.k == 3
    assert len(found.candidates) == 1
    assert set(found.labels) == {0, 1, 2}


def test_too_few_or_identical_profiles_are_refused() -> None:
    spec, matrix, _, _ = planted(30, 3)
    with pytest.raises(DiscoveryError, match="too few"):
        discover(matrix, DiscoveryOptions(), spec.binary())
    with pytest.raises(DiscoveryError, match="too alike"):
        discover(np.ones((200, 3)), DiscoveryOptions(k=3))
