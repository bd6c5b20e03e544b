"""Saved models: versioned directories under the content directory, loaded only from there.

    segments/models/<name>-v<version>/
        manifest.json   what the model is: kind, features, library versions, training date,
                        quality, the checksum of model.skops and probe rows
        model.skops     the fitted scikit-learn pipeline, in skops' format

skops stores an object as a description of its types and arrays, not as a pickle, and
refuses to load a file mentioning any type outside its allow-list (scikit-learn estimators,
numpy, built-ins); nothing in a model file can run code on load. A new training writes a
new version next to the old ones, so a segment or condition pinned to a version keeps its
meaning until its author moves it.

Loading checks, in order, and reports a problem instead of raising: the directory name, the
manifest (format version, name, version, kind, features), the scikit-learn major version it
was trained with, the checksum, skops' type audit, the pipeline's shape, and finally the
probes: synthetic rows whose predictions were recorded at training time must come out the
same from the loaded pipeline and from `predict`'s numpy formulas. A model that passes is
compatible with the installed libraries in the only sense that matters: it predicts what it
predicted when it was trained.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from engine.ml.features import FeatureSpec, Matrix
from engine.ml.predict import ActivationModel, LoadedModel, ModelKind, PersonaModel

MODELS_DIR = Path("segments") / "models"
MANIFEST = "manifest.json"
MODEL_FILE = "model.skops"
FORMAT = "parcours-model"
FORMAT_VERSION = 1
KINDS: tuple[ModelKind, ...] = ("personas", "activation")
LIBRARIES = ("scikit-learn", "numpy", "scipy", "skops")
_DIRECTORY = re.compile(r"([a-z][a-z0-9_-]*)-v([1-9][0-9]*)")
_STEPS = {"personas": ("scale", "cluster"), "activation": ("scale", "classify")}


@dataclass(frozen=True)
class ModelProblem:
    """Why one saved model cannot be used, at the file to look at."""

    path: Path
    message: str


@dataclass
class LoadedModels:
    """Every usable model by `name@version`, the versions found on disk (usable or not),
    and the problems of the others."""

    models: dict[str, LoadedModel] = field(default_factory=dict)
    found: dict[str, set[int]] = field(default_factory=dict)
    problems: list[ModelProblem] = field(default_factory=list)


class ModelError(Exception):
    """A failed check while loading; carries the file it concerns."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a model file depends on."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return found


def model_directory(content_dir: Path, name: str, model_version: int) -> Path:
    return content_dir / MODELS_DIR / f"{name}-v{model_version}"


def versions_on_disk(content_dir: Path, name: str) -> list[int]:
    root = content_dir / MODELS_DIR
    matches = (_DIRECTORY.fullmatch(p.name) for p in root.iterdir()) if root.is_dir() else ()
    return sorted(int(m[2]) for m in matches if m is not None and m[1] == name)


def save_model(
    content_dir: Path,
    name: str,
    kind: ModelKind,
    pipeline: Any,
    spec: FeatureSpec,
    trained_at: datetime,
    details: dict[str, Any],
    seed: int = 0,
) -> Path:
    """Write the next version of model `name`; returns its directory.

    The files are written to a temporary directory renamed into place, so a reader never
    sees half a model.
    """
    import skops.io as sio  # type: ignore[import-untyped]  # imports scikit-learn: slow

    root = content_dir / MODELS_DIR
    root.mkdir(parents=True, exist_ok=True)
    model_version = max(versions_on_disk(content_dir, name), default=0) + 1
    target = model_directory(content_dir, name, model_version)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        sio.dump(pipeline, staging / MODEL_FILE)
        identity = {"name": name, "version": model_version, "kind": kind}
        manifest = _manifest(identity, staging / MODEL_FILE, pipeline, spec, trained_at, seed)
        text = json.dumps(
            {**manifest, **details, "probes": manifest["probes"]}, indent=2, allow_nan=False
        )
        (staging / MANIFEST).write_text(text + "\n", encoding="utf-8")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _manifest(
    identity: dict[str, Any],
    model_file: Path,
    pipeline: Any,
    spec: FeatureSpec,
    trained_at: datetime,
    seed: int,
) -> dict[str, Any]:
    kind = identity["kind"]
    inputs = _probe_inputs(kind, pipeline, seed)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **identity,
        "trained_at": trained_at.isoformat(),
        "file": MODEL_FILE,
        "sha256": _sha256(model_file),
        "libraries": library_versions(),
        "features": spec.to_json(),
        "columns": [column.label for column in spec.columns()],
        "probes": {
            "inputs": inputs.tolist(),
            "outputs": _pipeline_outputs(kind, pipeline, inputs),
        },
    }


def load_models(content_dir: Path) -> LoadedModels:
    """Every model directory under `segments/models/`, checked."""
    out = LoadedModels()
    root = content_dir / MODELS_DIR
    if not root.is_dir():
        return out
    for directory in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        match = _DIRECTORY.fullmatch(directory.name)
        if match is None or not directory.is_dir():
            message = "not a model directory: expected <name>-v<version>, such as personas-v1"
            out.problems.append(ModelProblem(directory, message))
            continue
        out.found.setdefault(match[1], set()).add(int(match[2]))
        try:
            model = load_model(directory, match[1], int(match[2]))
        except ModelError as error:
            out.problems.append(ModelProblem(error.path, error.message))
        else:
            out.models[model.key] = model
    return out


def load_model(directory: Path, name: str, model_version: int) -> LoadedModel:
    """One model, every check passed, or ModelError."""
    manifest_path = directory / MANIFEST
    manifest = _read_manifest(manifest_path, name, model_version)
    kind: ModelKind = manifest["kind"]
    spec = _spec(manifest_path, manifest)
    _check_libraries(manifest_path, manifest)
    pipeline = _load_pipeline(directory / MODEL_FILE, manifest, kind, len(spec.columns()))
    model = _fast_model(manifest_path, manifest, kind, spec, pipeline)
    _check_probes(manifest_path, manifest, kind, pipeline, model)
    return model


def _read_manifest(path: Path, name: str, model_version: int) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(path, "missing: every model directory needs its manifest.json") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(path, f"cannot read the manifest: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(path, f'not a Parcours model manifest (expected "format": "{FORMAT}")')
    found = data.get("format_version")
    if not isinstance(found, int) or found > FORMAT_VERSION or found < 1:
        raise ModelError(
            path,
            f"model format version {found!r} is not supported; this Parcours reads version "
            f"{FORMAT_VERSION}: retrain the model with this version",
        )
    if data.get("name") != name or data.get("version") != model_version:
        raise ModelError(
            path,
            f"the manifest describes {data.get('name')!r} version {data.get('version')!r}, "
            f"but the directory is {name}-v{model_version}",
        )
    if data.get("kind") not in KINDS:
        raise ModelError(path, f"unknown model kind {data.get('kind')!r}: expected one of {KINDS}")
    if data["kind"] == "activation" and not isinstance(data.get("target_stage"), str):
        raise ModelError(path, "an activation model needs its target_stage")
    return data


def _spec(path: Path, manifest: dict[str, Any]) -> FeatureSpec:
    try:
        return FeatureSpec.from_json(manifest["features"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(path, f"malformed features in the manifest: {exc!r}") from None


def _check_libraries(path: Path, manifest: dict[str, Any]) -> None:
    """skops restores scikit-learn objects attribute by attribute, which a new major
    version of scikit-learn may lay out differently; within a major version the probes
    decide."""
    libraries = manifest.get("libraries")
    trained = libraries.get("scikit-learn") if isinstance(libraries, dict) else None
    installed = library_versions()["scikit-learn"]
    if not isinstance(trained, str) or trained.split(".")[0] != installed.split(".")[0]:
        raise ModelError(
            path,
            f"trained with scikit-learn {trained}, but {installed} is installed: "
            "retrain the model with the installed version",
        )


def _load_pipeline(path: Path, manifest: dict[str, Any], kind: ModelKind, width: int) -> Any:
    import skops.io as sio

    if not path.is_file():
        raise ModelError(path, f"missing: the model file named in {MANIFEST}")
    if _sha256(path) != manifest.get("sha256"):
        raise ModelError(
            path, f"does not match the checksum in {MANIFEST}: the files were changed separately"
        )
    try:
        untrusted = sio.get_untrusted_types(file=path)
        if untrusted:
            raise ModelError(
                path, "refused: it contains types outside the allow-list: " + ", ".join(untrusted)
            )
        pipeline = sio.load(path)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(path, f"cannot load the model: {type(exc).__name__}: {exc}") from None
    return _check_pipeline(path, pipeline, kind, width)


def _check_pipeline(path: Path, pipeline: Any, kind: ModelKind, width: int) -> Any:
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    final = KMeans if kind == "personas" else LogisticRegression
    steps: list[tuple[str, Any]] = list(getattr(pipeline, "steps", None) or [])
    shape_ok = (
        isinstance(pipeline, Pipeline)
        and [step for step, _ in steps] == list(_STEPS[kind])
        and isinstance(steps[0][1], StandardScaler)
        and isinstance(steps[1][1], final)
    )
    if not shape_ok:
        raise ModelError(path, f"expected a StandardScaler then a {final.__name__} pipeline")
    expected = getattr(steps[0][1], "n_features_in_", None)
    if expected != width:
        raise ModelError(path, f"the model expects {expected} features, the manifest lists {width}")
    return pipeline


def _fast_model(
    path: Path, manifest: dict[str, Any], kind: ModelKind, spec: FeatureSpec, pipeline: Any
) -> LoadedModel:
    scaler, last = pipeline.steps[0][1], pipeline.steps[1][1]
    mean = np.asarray(scaler.mean_, dtype=np.float64)
    scale = np.asarray(scaler.scale_, dtype=np.float64)
    name, model_version = manifest["name"], manifest["version"]
    if kind == "personas":
        centers = np.asarray(last.cluster_centers_, dtype=np.float64)
        return PersonaModel(name, model_version, spec, mean, scale, centers)
    if list(last.classes_) != [False, True]:
        raise ModelError(path, "an activation model must predict activated (true) or not (false)")
    coef = np.asarray(last.coef_[0], dtype=np.float64)
    intercept = float(last.intercept_[0])
    return ActivationModel(
        name, model_version, spec, mean, scale, coef, intercept, manifest["target_stage"]
    )


def _probe_inputs(kind: ModelKind, pipeline: Any, seed: int) -> Matrix:
    """Synthetic rows around what the model learnt (no profile's data is stored)."""
    scaler = pipeline.steps[0][1]
    rng = np.random.default_rng(seed)
    if kind == "personas":
        centers = pipeline.steps[1][1].cluster_centers_
        z = np.repeat(centers, 3, axis=0) + rng.normal(
            0.0, 0.3, (3 * len(centers), centers.shape[1])
        )
        z = z[_clear_margin(z, centers)]
    else:
        z = rng.normal(0.0, 1.0, (8, len(scaler.mean_)))
    return np.asarray(scaler.mean_ + z * scaler.scale_, dtype=np.float64)


def _clear_margin(z: Matrix, centers: Matrix) -> Any:
    """Rows clearly nearer one centre than any other: a probe on a boundary could flip
    with rounding and report a sound model as incompatible."""
    distances = np.sort(((z[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2), axis=1)
    return distances[:, 1] - distances[:, 0] > 1e-3 * (1.0 + distances[:, 1])


def _pipeline_outputs(kind: ModelKind, pipeline: Any, inputs: Matrix) -> list[float]:
    if kind == "personas":
        return [float(c) for c in pipeline.predict(inputs)]
    return [float(p) for p in pipeline.predict_proba(inputs)[:, 1]]


def _check_probes(
    path: Path, manifest: dict[str, Any], kind: ModelKind, pipeline: Any, model: LoadedModel
) -> None:
    try:
        probes = manifest["probes"]
        inputs = np.asarray(probes["inputs"], dtype=np.float64)
        expected = np.asarray(probes["outputs"], dtype=np.float64)
        recorded = np.asarray(_pipeline_outputs(kind, pipeline, inputs))
        fast = (
            model.assign(inputs).astype(np.float64)
            if isinstance(model, PersonaModel)
            else model.probability(inputs)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(path, f"malformed probes in the manifest: {exc!r}") from None
    if not (
        np.allclose(recorded, expected, rtol=1e-7, atol=1e-9)
        and np.allclose(fast, expected, rtol=1e-7, atol=1e-9)
    ):
        raise ModelError(
            path,
            "the model no longer predicts what it predicted when trained (probe mismatch): "
            "retrain it with the installed libraries",
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
