"""Whole-experiment summaries: several variants, SRM, corrections and segments."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from engine.experiments.arms import ArmStats
from engine.experiments.summary import summarize, summarize_segments

ARMS = {
    "control": ArmStats.from_conversions(5000, 500),
    "b": ArmStats.from_conversions(5100, 580),
    "c": ArmStats.from_conversions(4950, 520),
}


def test_every_variant_is_compared_with_control_and_srm_uses_all_arms() -> None:
    summary = summarize(ARMS, "control", weights={"control": 1, "b": 1, "c": 1})
    assert [v.variant for v in summary.variants] == ["control", "b", "c"]
    assert [c.variant for c in summary.comparisons] == ["b", "c"]
    assert summary.srm.p_value == pytest.approx(stats.chisquare([5000, 5100, 4950]).pvalue)
    payload = json.loads(json.dumps(summary.to_json(), allow_nan=False))
    assert payload["variants"][1] == {
        "variant": "b",
        "users": 5100,
        "conversions": 580,
        "rate": pytest.approx(580 / 5100),
    }
    assert payload["users"] == 15_050


def test_variant_correction_matches_statsmodels() -> None:
    import statsmodels.stats.multitest as multitest

    summary = summarize(ARMS, "control", correction="holm")
    raw = [c.p_value for c in summary.comparisons]
    _, expected, _, _ = multitest.multipletests(raw, method="holm")
    assert [c.p_value_adjusted for c in summary.comparisons] == pytest.approx(list(expected))


def test_missing_control_is_an_empty_arm_not_an_error() -> None:
    summary = summarize({"b": ArmStats.from_conversions(100, 10)}, "control")
    assert summary.comparisons[0].reason == "empty_arm"
    assert summary.variants[0].users == 0
    assert summary.variants[0].mean is None
    json.dumps(summary.to_json(), allow_nan=False)


def test_segment_p_values_are_adjusted_over_all_segment_comparisons() -> None:
    import statsmodels.stats.multitest as multitest

    segments = {
        "beginner_marketer": {
            "control": ArmStats.from_conversions(2000, 190),
            "b": ArmStats.from_conversions(2050, 240),
        },
        "power_user": {
            "control": ArmStats.from_conversions(3000, 310),
            "b": ArmStats.from_conversions(3050, 340),
            "c": ArmStats.from_conversions(2900, 0),
        },
    }
    result = summarize_segments(segments, "control", correction="bh")
    comparisons = [c for s in result for c in s.summary.comparisons]
    # Every segment lists every variant; the empty one is neutral and not counted.
    assert [(s.segment, [c.variant for c in s.summary.comparisons]) for s in result] == [
        ("beginner_marketer", ["b", "c"]),
        ("power_user", ["b", "c"]),
    ]
    tested = [c for c in comparisons if c.p_value is not None]
    assert len(tested) == 3
    _, expected, _, _ = multitest.multipletests([c.p_value for c in tested], method="fdr_bh")
    assert [c.p_value_adjusted for c in tested] == pytest.approx(list(expected))
    assert {c.reason for c in comparisons if c.p_value is None} == {"empty_arm"}


def test_mean_metric_summary_reports_totals_and_means() -> None:
    arms = {
        "control": ArmStats.from_values([1.0, 2.0, 3.0, 4.0]),
        "b": ArmStats.from_values([2.0, 3.0, 4.0, 5.0, 6.0]),
    }
    payload = summarize(arms, "control").to_json()
    assert payload["variants"][1] == {"variant": "b", "users": 5, "total": 20.0, "mean": 4.0}
    expected = stats.ttest_ind([2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0], equal_var=False)
    assert payload["comparisons"][0]["p_value_absolute"] == pytest.approx(expected.pvalue)
