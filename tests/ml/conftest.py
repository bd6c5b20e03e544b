"""Content directories for model tests: stages matching the synthetic events, models saved
from synthetic populations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from engine.ml.activation import TrainOptions, train_activation
from engine.ml.artifacts import save_model
from engine.ml.features import FeatureSpec, SpecOptions, encode, infer_spec
from engine.ml.personas import Discovery, DiscoveryOptions, discover
from tests.ml.synthetic import observations, population

STAGES = """\
stages:
  - stage: signup
    when: {event: signed_up}
  - stage: first_login
    when: {event: logged_in}
  - stage: activation
    when: {event: campaign_sent}
"""
TRAINED_AT = datetime(2026, 2, 1, tzinfo=UTC)


def write(content_dir: Path, path: str, text: str) -> Path:
    target = content_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A content directory with the stage list and nothing else."""
    directory = tmp_path / "content"
    write(directory, "segments/stages.yaml", STAGES)
    return directory


def persona_model(content_dir: Path, n: int = 1200, k: int = 4) -> tuple[FeatureSpec, Discovery]:
    """Discover personas in a synthetic population and save the model as `personas`."""
    sketches, _ = population(n, seed=3)
    obs = observations(sketches)
    spec = infer_spec(obs, 72.0, SpecOptions(exclude=frozenset({"score", "browser"})))
    spec = FeatureSpec(
        spec.window_hours, spec.numeric, spec.categorical, spec.events, ("first_login",)
    )
    found = discover(encode(spec, obs), DiscoveryOptions(k=k), spec.binary())
    save_model(content_dir, "personas", "personas", found.pipeline, spec, TRAINED_AT, {})
    return spec, found


def activation_model(content_dir: Path, n: int = 1500) -> FeatureSpec:
    """Train the activation model on a planted signal and save it as `activation`."""
    sketches, _ = population(n, seed=4, activation="signal")
    obs = observations(sketches, 24.0)
    activated = ~np.isnan(obs.stage_hours[:, 1])
    spec = infer_spec(obs, 24.0, SpecOptions(exclude=frozenset({"score", "browser"})))
    spec = FeatureSpec(spec.window_hours, spec.numeric, spec.categorical, spec.events, ())
    training = train_activation(encode(spec, obs), activated, spec.columns(), TrainOptions())
    details = {"target_stage": "activation", "quality": training.quality.to_json()}
    save_model(
        content_dir, "activation", "activation", training.pipeline, spec, TRAINED_AT, details
    )
    return spec
