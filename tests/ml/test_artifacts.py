"""Saved models: versions, the manifest, and every check a model must pass to be loaded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio  # type: ignore[import-untyped]

from engine.ml.artifacts import (
    FORMAT_VERSION,
    MANIFEST,
    MODEL_FILE,
    library_versions,
    load_models,
    model_directory,
    versions_on_disk,
)
from engine.ml.features import encode
from engine.ml.observe import observe
from engine.ml.predict import ActivationModel, PersonaModel
from tests.ml.conftest import TRAINED_AT, activation_model, persona_model
from tests.ml.synthetic import population


class Gadget:
    """A type no model file may contain."""

    def __init__(self) -> None:
        self.payload = "anything"


def edit_manifest(directory: Path, **changes: Any) -> None:
    path = directory / MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def only_problem(content_dir: Path) -> tuple[str, str]:
    loaded = load_models(content_dir)
    assert not loaded.models
    assert len(loaded.problems) == 1, loaded.problems
    problem = loaded.problems[0]
    return problem.path.name, problem.message


def test_a_saved_persona_model_loads_and_predicts_like_its_pipeline(content_dir: Path) -> None:
    spec, found = persona_model(content_dir)
    directory = model_directory(content_dir, "personas", 1)
    assert sorted(p.name for p in directory.iterdir()) == [MANIFEST, MODEL_FILE]
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["kind"] == "personas"
    assert manifest["trained_at"] == TRAINED_AT.isoformat()
    assert manifest["libraries"] == library_versions()
    assert manifest["columns"] == [c.label for c in spec.columns()]
    assert len(manifest["probes"]["inputs"]) >= 4
    loaded = load_models(content_dir)
    assert loaded.problems == []
    assert list(loaded.models) == ["personas@1"]
    model = loaded.models["personas@1"]
    assert isinstance(model, PersonaModel)
    assert model.clusters == 4
    sketches, _ = population(500, seed=11)
    matrix = encode(spec, observe(sketches, spec))
    assert (model.assign(matrix) == found.pipeline.predict(matrix)).all()
    assert model.outputs(sketches[:3], TRAINED_AT) == list(found.pipeline.predict(matrix[:3]))


def test_a_saved_activation_model_scores_like_its_pipeline(content_dir: Path) -> None:
    spec = activation_model(content_dir)
    model = load_models(content_dir).models["activation@1"]
    assert isinstance(model, ActivationModel)
    assert model.target_stage == "activation"
    pipeline = sio.load(model_directory(content_dir, "activation", 1) / MODEL_FILE)
    sketches, _ = population(300, seed=12)
    matrix = encode(spec, observe(sketches, spec))
    assert model.probability(matrix) == pytest.approx(pipeline.predict_proba(matrix)[:, 1])


def test_every_training_writes_the_next_version(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    persona_model(content_dir, n=400, k=3)
    assert versions_on_disk(content_dir, "personas") == [1, 2]
    loaded = load_models(content_dir)
    assert [m.clusters for m in loaded.models.values() if isinstance(m, PersonaModel)] == [2, 3]


def test_a_missing_manifest_or_model_file_is_a_problem(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    directory = model_directory(content_dir, "personas", 1)
    (directory / MODEL_FILE).unlink()
    assert only_problem(content_dir) == (MODEL_FILE, f"missing: the model file named in {MANIFEST}")
    (directory / MANIFEST).unlink()
    name, message = only_problem(content_dir)
    assert (name, message) == (MANIFEST, "missing: every model directory needs its manifest.json")


def test_a_changed_model_file_fails_its_checksum(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    path = model_directory(content_dir, "personas", 1) / MODEL_FILE
    path.write_bytes(path.read_bytes() + b"\0")
    assert only_problem(content_dir) == (
        MODEL_FILE,
        f"does not match the checksum in {MANIFEST}: the files were changed separately",
    )


def test_a_file_with_types_outside_the_allow_list_is_refused(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    directory = model_directory(content_dir, "personas", 1)
    sio.dump({"model": Gadget()}, directory / MODEL_FILE)
    digest = hashlib.sha256((directory / MODEL_FILE).read_bytes()).hexdigest()
    edit_manifest(directory, sha256=digest)
    name, message = only_problem(content_dir)
    assert name == MODEL_FILE
    assert message.startswith("refused: it contains types outside the allow-list: ")
    assert "Gadget" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"format_version": 99}, "model format version 99 is not supported"),
        ({"format": "pickle"}, "not a Parcours model manifest"),
        (
            {"version": 2},
            "the manifest describes 'personas' version 2, but the directory is personas-v1",
        ),
        ({"kind": "forest"}, "unknown model kind 'forest'"),
        ({"libraries": {"scikit-learn": "0.24.2"}}, "trained with scikit-learn 0.24.2, but"),
        ({"features": {"window_hours": 1}}, "malformed features in the manifest"),
        ({"probes": {"inputs": [[0.0]], "outputs": [0]}}, "malformed probes"),
    ],
)
def test_an_incompatible_manifest_is_a_problem(
    content_dir: Path, changes: dict[str, Any], expected: str
) -> None:
    persona_model(content_dir, n=400, k=2)
    edit_manifest(model_directory(content_dir, "personas", 1), **changes)
    name, message = only_problem(content_dir)
    assert name == MANIFEST
    assert expected in message


def test_a_model_that_predicts_differently_than_when_trained_is_refused(content_dir: Path) -> None:
    persona_model(content_dir, n=400, k=2)
    directory = model_directory(content_dir, "personas", 1)
    probes = json.loads((directory / MANIFEST).read_text())["probes"]
    probes["outputs"] = [1 - value for value in probes["outputs"]]  # as if clusters moved
    edit_manifest(directory, probes=probes)
    _name, message = only_problem(content_dir)
    assert "probe mismatch" in message


def test_a_feature_list_that_does_not_fit_the_model_is_refused(content_dir: Path) -> None:
    spec, _ = persona_model(content_dir, n=400, k=2)
    features = spec.to_json()
    features["events"] = features["events"][:-1]
    edit_manifest(model_directory(content_dir, "personas", 1), features=features)
    name, message = only_problem(content_dir)
    assert name == MODEL_FILE
    assert "features, the manifest lists" in message


def test_a_stray_directory_is_reported(content_dir: Path) -> None:
    (content_dir / "segments" / "models" / "personas-latest").mkdir(parents=True)
    assert only_problem(content_dir)[1].startswith("not a model directory")


def test_activation_probes_compare_probabilities(content_dir: Path) -> None:
    activation_model(content_dir, n=600)
    manifest = json.loads((model_directory(content_dir, "activation", 1) / MANIFEST).read_text())
    outputs = np.array(manifest["probes"]["outputs"])
    assert ((outputs > 0) & (outputs < 1)).all()
    assert len(set(outputs.round(6))) == len(outputs)
