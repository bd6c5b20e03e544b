"""Deterministic bucketing: the hash, the split by weights, the global holdout preview."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from scipy import stats

from engine.catalog.catalog import Catalog, empty_catalog
from engine.catalog.definitions import Experiment, GlobalHoldout
from engine.experiments.assignment import (
    BUCKETS,
    bucket_of,
    choose,
    in_global_holdout,
    subject_of,
    variant_for,
)


def experiment(variants: dict[str, int], salt: str = "") -> Experiment:
    return Experiment(key="exp", variants=variants, salt=salt)


def test_bucket_is_sha256_of_key_salt_and_subject() -> None:
    digest = hashlib.sha256(b"welcome:2026:u-42").digest()
    expected = int.from_bytes(digest[:8], "big") % 10_000
    assert bucket_of("welcome", "2026", "u-42") == expected
    assert bucket_of("welcome", "2026", "u-42") == expected  # no hidden state


def test_anonymous_profiles_hash_their_profile_id() -> None:
    assert subject_of(17, None) == "17"
    assert subject_of(17, "sophie") == "sophie"


def test_slices_follow_declaration_order_and_cumulative_weights() -> None:
    weights = {"control": 20, "b": 30, "c": 50}
    assert variant_for(weights, 0) == "control"
    assert variant_for(weights, 1999) == "control"
    assert variant_for(weights, 2000) == "b"
    assert variant_for(weights, 4999) == "b"
    assert variant_for(weights, 5000) == "c"
    assert variant_for(weights, BUCKETS - 1) == "c"


def test_split_matches_the_weights_chi_square() -> None:
    design = {"control": 20, "b": 30, "c": 50}
    n = 30_000
    counts = Counter(choose(experiment(design), f"user-{i}")[0] for i in range(n))
    observed = [counts[name] for name in design]
    expected = [n * weight / 100 for weight in design.values()]
    assert stats.chisquare(observed, expected).pvalue > 0.001
    buckets = [bucket_of("exp", "", f"user-{i}") for i in range(n)]
    deciles = Counter(b * 10 // BUCKETS for b in buckets)
    assert stats.chisquare([deciles[d] for d in range(10)]).pvalue > 0.001


def test_salt_redraws_the_split_independently() -> None:
    design = {"control": 50, "b": 50}
    first = [choose(experiment(design), f"u{i}")[0] for i in range(4000)]
    second = [choose(experiment(design, salt="again"), f"u{i}")[0] for i in range(4000)]
    table = Counter(zip(first, second, strict=True))
    cells = [[table[("control", "control")], table[("control", "b")]]]
    cells.append([table[("b", "control")], table[("b", "b")]])
    assert stats.chi2_contingency(cells).pvalue > 0.001


def holdout_catalog(percent: int) -> Catalog:
    return replace(empty_catalog(), holdout=GlobalHoldout(holdout="onboarding", percent=percent))


def test_global_holdout_preview() -> None:
    assert in_global_holdout(empty_catalog(), profile_id=1, user_id="u") is False
    catalog = holdout_catalog(10)
    held = sum(in_global_holdout(catalog, profile_id=i, user_id=f"u{i}") for i in range(20_000))
    assert stats.binomtest(held, 20_000, 0.10).pvalue > 0.001
    # The same rule as an experiment keyed by the holdout's name.
    variant, _ = choose(catalog.holdout.experiment, "u7")  # type: ignore[union-attr]
    assert (variant == "holdout") == in_global_holdout(catalog, profile_id=7, user_id="u7")


def test_global_holdout_as_an_experiment() -> None:
    holdout = GlobalHoldout(holdout="onboarding", percent=5, salt="s")
    assert holdout.experiment.variants == {"holdout": 5, "onboarding": 95}
    assert holdout.experiment.control == "holdout"
    assert holdout.experiment.holdout is True
    assert holdout.experiment.salt == "s"
    assert holdout.experiment.metric.label == "activation_14d"


@pytest.mark.parametrize("percent", [0, 51])
def test_global_holdout_percent_is_bounded(percent: int) -> None:
    with pytest.raises(ValueError, match="percent"):
        GlobalHoldout(holdout="onboarding", percent=percent)


def test_metric_windows() -> None:
    exp = Experiment.model_validate(
        {
            "key": "k",
            "variants": {"a": 50, "b": 50},
            "metric": {"stage": "exploration", "within": "3d"},
            # tuples: the content loader reads YAML sequences as tuples (strict models)
            "secondary": ({"event_count": "campaign_sent", "within": "36h"}, {"retention": "7d"}),
            "guardrails": ({"event": "unsubscribed", "better": "lower", "name": "unsubs"},),
        }
    )
    assert exp.metric.label == "exploration_3d"
    assert exp.metric.window_end == timedelta(days=3)
    count, retention = exp.secondary
    assert (count.label, count.measure) == ("campaign_sent_count_36h", "mean")
    assert (retention.label, retention.window_start, retention.window_end) == (
        "retention_d7",
        timedelta(days=7),
        timedelta(days=8),
    )
    assert exp.guardrails[0].label == "unsubs"
    assert exp.guardrails[0].window_end == timedelta(days=14)
