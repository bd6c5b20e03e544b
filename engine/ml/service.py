"""Discovery and training runs: read a population, fit, describe, save into the content.

Both read the population with one short read-only transaction, then work on plain arrays.
Stage names come from the content's stage list (read leniently, so a discovery can repair
content whose only problem is an outdated model segment file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from engine.catalog.collect import Definitions, collect
from engine.ml.activation import Training, TrainOptions, train_activation
from engine.ml.artifacts import MANIFEST, MODELS_DIR, save_model
from engine.ml.describe import ClusterProfile, describe_clusters
from engine.ml.features import FeatureSpec, SpecOptions, encode, infer_spec
from engine.ml.personas import Discovery, DiscoveryError, DiscoveryOptions, discover
from engine.ml.predict import SIGNUP_STAGE
from engine.ml.repository import Population, load_population
from engine.ml.segments_file import (
    SegmentFileError,
    choose_priorities,
    is_generated,
    render,
    segment_file,
    segment_names,
)


@dataclass(frozen=True)
class DiscoverRequest:
    content_dir: Path
    name: str = "personas"
    window: timedelta = timedelta(days=3)
    target_stage: str = "activation"
    priority: int | None = None
    clustering: DiscoveryOptions = field(default_factory=DiscoveryOptions)
    features: SpecOptions = field(default_factory=SpecOptions)


@dataclass(frozen=True)
class DiscoverResult:
    model_dir: Path
    segment_file: Path
    discovery: Discovery
    spec: FeatureSpec
    profiles: list[ClusterProfile]
    names: list[str]
    priorities: list[int]
    population: int
    overall_rate: float | None


@dataclass(frozen=True)
class TrainRequest:
    content_dir: Path
    name: str = "activation"
    observe: timedelta = timedelta(hours=24)
    within: timedelta = timedelta(days=14)
    target_stage: str = "activation"
    min_auc: float = 0.6
    options: TrainOptions = field(default_factory=TrainOptions)
    features: SpecOptions = field(default_factory=SpecOptions)


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path | None  # None when the model was not good enough to save
    training: Training
    spec: FeatureSpec
    population: int


def run_discovery(engine: Engine, request: DiscoverRequest, now: datetime) -> DiscoverResult:
    """Discover personas among profiles whose first `window` is over, and save them."""
    definitions, _ = collect(request.content_dir)
    path = segment_file(request.content_dir, request.name)
    if not is_generated(path):
        raise SegmentFileError(
            f"{path} exists and was not written by discovery; choose another --name"
        )
    # The target stage describes personas (their activation rate); it is not a feature.
    skipped = {SIGNUP_STAGE, request.target_stage}
    stages = [s.value.stage for s in definitions.stages if s.value.stage not in skipped]
    population = _population(engine, request, stages, now)
    spec = infer_spec(population.observations, _hours(request.window), request.features)
    matrix = encode(spec, population.observations)
    found = discover(matrix, request.clustering, spec.binary())
    activated = ~np.isnan(population.target_hours)
    profiles = describe_clusters(spec, matrix, found.labels, found.k, activated)
    overall = float(activated.mean())
    names, priorities = _names_and_priorities(definitions, path, request, profiles)
    details = _discovery_details(found, profiles, names, len(matrix), overall, request, now)
    model_dir = save_model(
        request.content_dir,
        request.name,
        "personas",
        found.pipeline,
        spec,
        now,
        details,
        seed=request.clustering.seed,
    )
    version = int(model_dir.name.rsplit("-v", 1)[1])
    where = (MODELS_DIR / model_dir.name / MANIFEST).as_posix()
    header = [f"Trained {now:%Y-%m-%d} on {len(matrix):,} profiles; see {where}"]
    text = render(request.name, version, profiles, names, priorities, header, overall)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return DiscoverResult(
        model_dir, path, found, spec, profiles, names, priorities, len(matrix), overall
    )


def _population(
    engine: Engine, request: DiscoverRequest, stages: list[str], now: datetime
) -> Population:
    window = request.window
    with engine.connect() as conn:
        population = load_population(
            conn,
            signed_up_before=now - window,
            window=window,
            stages=stages,
            target_stage=request.target_stage,
            exclude_events=request.features.exclude_events,
        )
    if len(population.profile_ids) == 0:
        raise DiscoveryError(f"no profile signed up more than {_hours(window):g} hours ago yet")
    return population


def _names_and_priorities(
    definitions: Definitions, path: Path, request: DiscoverRequest, profiles: list[ClusterProfile]
) -> tuple[list[str], list[int]]:
    """Names and priorities free among the segments not in the file being replaced."""
    others = [
        s for s in definitions.segments.values() if s.document.path.resolve() != path.resolve()
    ]
    taken_names = {s.value.segment for s in others}
    taken_priorities = {s.value.priority for s in others}
    names = segment_names(request.name, profiles, taken_names)
    return names, choose_priorities(taken_priorities, len(profiles), request.priority)


def _discovery_details(
    found: Discovery,
    profiles: list[ClusterProfile],
    names: list[str],
    population: int,
    overall: float | None,
    request: DiscoverRequest,
    now: datetime,
) -> dict[str, object]:
    return {
        "training": {
            "profiles": population,
            "signed_up_before": (now - request.window).isoformat(),
            "window_hours": _hours(request.window),
            "target_stage": request.target_stage,
            "seed": request.clustering.seed,
        },
        "quality": {
            "k": found.k,
            "k_chosen_by": "fixed" if request.clustering.k is not None else "silhouette",
            "silhouette": found.silhouette,
            "inertia": found.inertia,
            "candidates": [
                {"k": c.k, "silhouette": c.silhouette, "inertia": c.inertia}
                for c in found.candidates
            ],
            "activation_rate": overall,
        },
        "clusters": [
            {**profile.to_json(), "segment": name}
            for profile, name in zip(profiles, names, strict=True)
        ],
    }


def run_activation_training(engine: Engine, request: TrainRequest, now: datetime) -> TrainResult:
    """Train on profiles whose label window is over; save only a model worth using."""
    definitions, _ = collect(request.content_dir)
    names = [s.value.stage for s in definitions.stages]
    before = names[: names.index(request.target_stage)] if request.target_stage in names else []
    with engine.connect() as conn:
        population = load_population(
            conn,
            signed_up_before=now - request.within,
            window=request.observe,
            stages=[s for s in before if s != SIGNUP_STAGE],
            target_stage=request.target_stage,
            exclude_events=request.features.exclude_events,
        )
    spec, matrix, labels = _training_data(population, request)
    training = train_activation(matrix, labels, spec.columns(), request.options)
    if training.quality.auc < request.min_auc:
        return TrainResult(None, training, spec, len(labels))
    details = {
        "target_stage": request.target_stage,
        "training": {
            "profiles": len(labels),
            "signed_up_before": (now - request.within).isoformat(),
            "observation_hours": _hours(request.observe),
            "label_window_hours": _hours(request.within),
            "seed": request.options.seed,
        },
        "quality": training.quality.to_json(),
        "coefficients": [{"column": c, "weight": w} for c, w in training.coefficients],
    }
    model_dir = save_model(
        request.content_dir, request.name, "activation", training.pipeline, spec, now, details
    )
    return TrainResult(model_dir, training, spec, len(labels))


def _training_data(
    population: Population, request: TrainRequest
) -> tuple[FeatureSpec, np.ndarray, np.ndarray]:
    """Features and labels of the profiles still at risk when the window closes.

    A profile that reached the target stage inside the observation window is left out: at
    scoring time its risk is 0 by definition, and learning from it would teach the model
    that activating early predicts activating.
    """
    hours = population.target_hours
    at_risk = np.isnan(hours) | (hours > _hours(request.observe))
    observations = population.observations
    kept = np.flatnonzero(at_risk)
    subset = type(observations)(
        traits=[observations.traits[int(i)] for i in kept],
        event_names=observations.event_names,
        event_counts=observations.event_counts[kept],
        stage_names=observations.stage_names,
        stage_hours=observations.stage_hours[kept],
    )
    spec = infer_spec(subset, _hours(request.observe), request.features)
    labels = ~np.isnan(hours[kept]) & (hours[kept] <= _hours(request.within))
    return spec, encode(spec, subset), labels


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0
