"""Experiments and the global holdout in content: defaults, metrics and their checks."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.catalog import load_catalog
from engine.catalog.metrics import EventMetric, RetentionMetric, StageMetric
from engine.experiments.service import known_experiments

BASE = Path(__file__).resolve().parents[1] / "catalog" / "corpus" / "_base"

FLOW = """\
flow: split
trigger: {stage: signup}
experiment:
  key: subject-test
  variants: {control: 50, emoji: 50}
{extra}steps:
  - email: welcome
"""


def flow(extra: str = "") -> str:
    return FLOW.replace("{extra}", extra)


def content(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def problems_of(tmp_path: Path, files: dict[str, str]) -> list[str]:
    catalog, problems = load_catalog(content(tmp_path, files))
    assert (catalog is None) == bool(problems)
    return [problem.format(tmp_path) for problem in problems]


def test_defaults_measure_activation_retention_and_unsubscribes(tmp_path: Path) -> None:
    catalog, problems = load_catalog(content(tmp_path, {"flows/split.yaml": flow()}))
    assert problems == []
    assert catalog is not None
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    assert experiment.control == "control"
    assert experiment.holdout is False
    assert experiment.metric == StageMetric(stage="activation")
    assert [m.label for m in experiment.secondary] == ["retention_d7", "retention_d30"]
    assert all(isinstance(m, RetentionMetric) for m in experiment.secondary)
    (guardrail,) = experiment.guardrails
    assert isinstance(guardrail, EventMetric)
    assert (guardrail.event, guardrail.better, guardrail.label) == (
        "unsubscribed",
        "lower",
        "unsubscribed_30d",
    )


def test_declared_metrics_and_a_holdout_control(tmp_path: Path) -> None:
    extra = (
        "  holdout: true\n  salt: v2\n  metric: {stage: integration, within: 7d}\n"
        "  secondary:\n    - {event_count: campaign_sent, within: 14d}\n  guardrails: []\n"
    )
    catalog, problems = load_catalog(content(tmp_path, {"flows/split.yaml": flow(extra)}))
    assert problems == []
    assert catalog is not None
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    assert (experiment.holdout, experiment.salt, experiment.metric.label) == (
        True,
        "v2",
        "integration_7d",
    )
    assert [m.label for m in experiment.secondary] == ["campaign_sent_count_14d"]
    assert experiment.guardrails == ()


def test_global_holdout_document(tmp_path: Path) -> None:
    holdout = "holdout: onboarding-holdout\npercent: 5\nmetric: {stage: activation, within: 30d}\n"
    files = {"flows/holdout.yaml": holdout, "flows/split.yaml": flow()}
    catalog, problems = load_catalog(content(tmp_path, files))
    assert problems == []
    assert catalog is not None
    assert catalog.holdout is not None
    assert catalog.holdout.experiment.variants == {"holdout": 5, "onboarding": 95}
    known = known_experiments(catalog)
    assert list(known) == ["subject-test", "onboarding-holdout"]
    assert known["onboarding-holdout"].global_holdout
    assert known["subject-test"].flow == "split"


def test_unknown_metric_stage_is_reported_at_its_place(tmp_path: Path) -> None:
    extra = "  metric: {stage: activaton}\n  secondary:\n    - {stage: nowhere, within: 2d}\n"
    assert problems_of(tmp_path, {"flows/split.yaml": flow(extra)}) == [
        "flows/split.yaml:6:19: unknown stage 'activaton' (did you mean 'activation'?)",
        "flows/split.yaml:8:15: unknown stage 'nowhere'",
    ]


def test_default_metric_needs_an_activation_stage(tmp_path: Path) -> None:
    stages = "stages:\n  - stage: signup\n    when: {event: signed_up}\n"
    files = {"segments/stages.yaml": stages, "flows/split.yaml": flow()}
    files["flows/onboarding.yaml"] = (
        "flow: onboarding\ntrigger: {stage: signup}\nsteps:\n  - email: welcome\n"
    )
    (problem,) = problems_of(tmp_path, files)
    assert problem.startswith("flows/split.yaml:4:8: experiments measure the stage 'activation'")


def test_metric_names_are_unique(tmp_path: Path) -> None:
    extra = "  secondary:\n    - {retention: 7d}\n    - {retention: 7d}\n"
    assert problems_of(tmp_path, {"flows/split.yaml": flow(extra)}) == [
        "flows/split.yaml:8:7: two metrics are named 'retention_d7'; give one a different `name`"
    ]


def test_one_global_holdout_with_its_own_key(tmp_path: Path) -> None:
    files = {
        "flows/holdout.yaml": "holdout: subject-test\npercent: 5\n---\n"
        "holdout: again\npercent: 60\n",
        "flows/split.yaml": flow(),
    }
    assert problems_of(tmp_path, files) == [
        "flows/holdout.yaml:5:10: Input should be less than or equal to 50",
        "flows/split.yaml:4:8: experiment key 'subject-test' is already used by the global holdout",
    ]


def test_two_holdouts_are_refused(tmp_path: Path) -> None:
    files = {"flows/holdout.yaml": "holdout: one\npercent: 5\n---\nholdout: two\npercent: 5\n"}
    assert problems_of(tmp_path, files) == [
        "flows/holdout.yaml:4:10: a global holdout is already defined at line 1"
    ]
