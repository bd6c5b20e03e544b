"""Model conditions in content: `parcours validate` reports missing and incompatible models
at the place that names them, and valid ones load into the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog.catalog import load_catalog
from engine.catalog.commands import validate
from engine.catalog.conditions import ActivationRiskCondition, ClusterCondition
from engine.catalog.dependencies import Dependencies, dependencies
from engine.ml.artifacts import MODEL_FILE, model_directory
from tests.ml.conftest import activation_model, persona_model, write

SEGMENT = """\
segment: quick_starters
priority: 5
when: {cluster: 1, model: personas, version: 1}
"""
AT_RISK = """\
segment: at_risk
priority: 6
when:
  activation_risk: {above: 0.7}
"""


def problems(content_dir: Path) -> list[str]:
    catalog, found = load_catalog(content_dir)
    assert (catalog is None) == bool(found)
    return [problem.format(content_dir) for problem in found]


def test_segments_using_saved_models_load(content_dir: Path) -> None:
    persona_model(content_dir)
    activation_model(content_dir)
    write(content_dir, "segments/personas.yaml", SEGMENT)
    write(content_dir, "segments/at_risk.yaml", AT_RISK)
    catalog, found = load_catalog(content_dir)
    assert found == []
    assert catalog is not None
    assert set(catalog.models) == {"personas@1", "activation@1"}
    assert isinstance(catalog.segments["quick_starters"].when, ClusterCondition)
    assert isinstance(catalog.segments["at_risk"].when, ActivationRiskCondition)


def test_a_missing_model_is_reported_where_it_is_named(content_dir: Path) -> None:
    write(content_dir, "segments/personas.yaml", SEGMENT)
    write(content_dir, "segments/at_risk.yaml", AT_RISK)
    assert problems(content_dir) == [
        "segments/at_risk.yaml:4:3: unknown model 'activation': no "
        "segments/models/activation-v<N>/ directory in the content",
        "segments/personas.yaml:3:27: unknown model 'personas': no "
        "segments/models/personas-v<N>/ directory in the content",
    ]


def test_wrong_version_cluster_and_kind_are_reported(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    activation_model(content_dir, n=600)
    write(
        content_dir,
        "segments/wrong.yaml",
        "segment: a\npriority: 1\nwhen: {cluster: 0, model: personas, version: 3}\n---\n"
        "segment: b\npriority: 2\nwhen: {cluster: 2, model: personas, version: 1}\n---\n"
        "segment: c\npriority: 3\nwhen: {cluster: 0, model: activation, version: 1}\n---\n"
        "segment: d\npriority: 4\nwhen: {activation_risk: {below: 0.2}, model: personas}\n---\n"
        "segment: e\npriority: 5\nwhen: {activation_risk: {above: 0.5}, model: activatoin}\n",
    )
    assert problems(content_dir) == [
        "segments/wrong.yaml:3:46: model 'personas' has no version 3 (found: 1)",
        "segments/wrong.yaml:7:17: cluster 2 does not exist: "
        "model 'personas' v1 has clusters 0 to 1",
        "segments/wrong.yaml:11:27: model 'activation' v1 is an activation model: "
        "use activation_risk",
        "segments/wrong.yaml:15:46: model 'personas' v1 is a persona model: use cluster",
        "segments/wrong.yaml:19:46: unknown model 'activatoin' (did you mean 'activation'?): no "
        "segments/models/activatoin-v<N>/ directory in the content",
    ]


def test_a_broken_model_is_reported_once_at_its_file(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    (model_directory(content_dir, "personas", 1) / MODEL_FILE).write_bytes(b"not a model")
    write(content_dir, "segments/personas.yaml", SEGMENT)
    assert problems(content_dir) == [
        "segments/models/personas-v1/model.skops: does not match the checksum in "
        "manifest.json: the files were changed separately",
    ]


@pytest.mark.parametrize(
    ("band", "message"),
    [
        ("{}", "give a threshold: above, below or both"),
        ("{above: 0.8, below: 0.5}", "above must be lower than below"),
        ("{above: 1.5}", "less than or equal to 1"),
        ("{above: high}", "expected a number"),
    ],
)
def test_risk_bands_are_validated(content_dir: Path, band: str, message: str) -> None:
    write(
        content_dir,
        "segments/r.yaml",
        f"segment: r\npriority: 1\nwhen: {{activation_risk: {band}}}\n",
    )
    found = problems(content_dir)
    assert len(found) == 1
    assert message in found[0]


def test_a_stage_cannot_use_a_model(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    write(
        content_dir,
        "segments/stages.yaml",
        "stages:\n  - stage: signup\n    when: {cluster: 0, model: personas, version: 1}\n",
    )
    assert problems(content_dir) == [
        "segments/stages.yaml:3:21: a stage condition cannot use a model: stages are settled first"
    ]


def test_flow_conditions_are_checked_too(content_dir: Path) -> None:
    write(
        content_dir,
        "flows/rescue.yaml",
        "flow: rescue\ntrigger: {stage: signup}\nsteps:\n"
        "  - wait: 1d\n    when: {activation_risk: {above: 0.9}}\n",
    )
    assert problems(content_dir) == [
        "flows/rescue.yaml:5:11: unknown model 'activation': no "
        "segments/models/activation-v<N>/ directory in the content"
    ]


def test_validate_prints_model_problems(
    content_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    persona_model(content_dir, n=400, k=2)
    (model_directory(content_dir, "personas", 1) / "manifest.json").write_text("{")
    monkeypatch.chdir(content_dir)
    assert validate(Path(".")) == 1
    out = capsys.readouterr().out
    assert out.startswith("segments/models/personas-v1/manifest.json: cannot read the manifest")


def test_model_conditions_depend_on_their_model() -> None:
    cluster = ClusterCondition.model_validate({"cluster": 0, "model": "personas", "version": 1})
    risk = ActivationRiskCondition.model_validate({"activation_risk": {"above": 0.5}})
    assert dependencies(cluster) == Dependencies(models=frozenset({"personas"}))
    assert dependencies(risk) == Dependencies(models=frozenset({"activation"}), time_relative=True)
    assert risk.output_key == "activation"
    assert cluster.output_key == "personas@1"
