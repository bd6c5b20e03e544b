"""Persona discovery at scale and persona assignment throughput, with baselines.

Discovery runs the pure pipeline on N synthetic profiles (four planted personas, noise
traits, missing values), from observations to a saved model: feature inference, encoding,
k chosen by silhouette among 2..8, the final k-means on every profile, descriptions and the
skops file. Baseline in the same run: a bare `KMeans(k).fit` (k-means++ start, one
initialisation) on the same encoded, standardised matrix.

Assignment compares, on the same profiles:
    batch      `PersonaModel` on an encoded matrix (encode + numpy nearest centre)
               vs `pipeline.predict` on the same matrix (StandardScaler + KMeans.predict)
    ingestion  one profile at a time from its facts, as `update_audience` does
               vs one `pipeline.predict` call per profile on its encoded row

SQL aggregation (`--db-profiles`) times `load_population` on SQLite against a baseline scan
of the same rows (`SELECT profile_id, name, timestamp FROM events`, fetched, not grouped).

Peak memory is the process's maximum resident set size (ru_maxrss).

    python benchmarks/ml.py [--profiles 1000000] [--assign 200000] [--db-profiles 100000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from engine.ml.artifacts import load_models, save_model
from engine.ml.describe import describe_clusters
from engine.ml.features import FeatureSpec, Observations, SpecOptions, encode, infer_spec
from engine.ml.personas import DiscoveryOptions, discover, fit_scaler
from engine.ml.predict import PersonaModel

T = TypeVar("T")
EVENTS = ("campaign_created", "api_called", "teammate_invited", "template_saved", "help_opened")
ROLES = ("marketer", "developer", "admin", "founder")
PLANS = ("trial", "pro", "business", "free")
EMPLOYEES = (8, 60, 900, 2)
RATES = np.array([(3, 0, 0, 2, 1), (0, 8, 0, 0, 0), (0, 0, 4, 0, 0), (1, 0, 0, 0, 4)]) * 3.0
LOGIN_HOURS = np.array([2.0, 1.0, 30.0, 60.0])
NOW = datetime(2026, 3, 2, tzinfo=UTC)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = action()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:8.2f} s   peak RSS {peak_mb():8,.0f} MB", flush=True)
    return value, elapsed


def synthetic(n: int, seed: int) -> tuple[Observations, np.ndarray, np.ndarray]:
    """Columnar observations of n profiles (the shape the repository returns)."""
    rng = np.random.default_rng(seed)
    persona = np.arange(n) % 4
    counts = rng.poisson(RATES[persona]).astype(np.float64)
    login = rng.exponential(LOGIN_HOURS[persona])
    hours = np.where(login < 100, login, np.nan)[:, None]
    draws = rng.random((n, 2))
    other = rng.integers(0, 4, (n, 2))
    sizes = np.maximum(1, np.round(np.array(EMPLOYEES)[persona] * np.exp(rng.normal(0, 0.4, n))))
    has_size = rng.random(n) < 0.85
    browsers = rng.integers(0, 3, n)
    traits: list[dict[str, Any]] = []
    for i in range(n):
        p = persona[i]
        t: dict[str, Any] = {"browser": ("firefox", "chrome", "safari")[browsers[i]]}
        for j, (key, values) in enumerate((("role", ROLES), ("plan", PLANS))):
            if draws[i, j] < 0.75:
                t[key] = values[p]
            elif draws[i, j] < 0.9:
                t[key] = values[other[i, j]]
        if has_size[i]:
            t["company"] = {"employee_count": int(sizes[i])}
        traits.append(t)
    activated = rng.random(n) < np.array([0.6, 0.3, 0.1, 0.35])[persona]
    return Observations(traits, EVENTS, counts, ("first_login",), hours), persona, activated


def run_discovery(n: int, content_dir: Path) -> tuple[FeatureSpec, np.ndarray, Any]:
    print(f"Discovery on {n:,} profiles", flush=True)
    (obs, truth, activated), _ = timed("generate synthetic observations", lambda: synthetic(n, 1))
    total = 0.0
    spec, t = timed(
        "infer features (50,000-profile sample)", lambda: infer_spec(obs, 72.0, SpecOptions())
    )
    total += t
    matrix, t = timed("encode", lambda: encode(spec, obs))
    total += t
    print(f"  matrix: {matrix.shape[0]:,} x {matrix.shape[1]} ({matrix.nbytes / 2**20:,.0f} MB)")
    found, t = timed(
        "discover (k by silhouette, 2..8; final fit)",
        lambda: discover(matrix, DiscoveryOptions(), spec.binary()),
    )
    total += t
    _, t = timed(
        "describe clusters",
        lambda: describe_clusters(spec, matrix, found.labels, found.k, activated),
    )
    total += t
    _, t = timed(
        "save model (skops + manifest)",
        lambda: save_model(content_dir, "personas", "personas", found.pipeline, spec, NOW, {}),
    )
    total += t
    scaled = fit_scaler(matrix, spec.binary()).transform(matrix)
    bare_fit = KMeans(found.k, n_init=1, random_state=0)
    _, bare = timed(f"baseline: bare KMeans({found.k}).fit, n_init=1", lambda: bare_fit.fit(scaled))
    ari = adjusted_rand_score(truth, found.labels)
    print(f"  k = {found.k}, silhouette {found.silhouette:.3f}, ARI vs planted {ari:.4f}")
    print(f"  discovery total {total:.1f} s = {total / bare:.2f} x the bare fit ({bare:.1f} s)")
    print(f"  profiles/s through discovery: {n / total:,.0f}")
    return spec, matrix, found.pipeline


class Facts:
    """A FactsLike profile for the ingestion path."""

    __slots__ = ("events", "signup_at", "stage_entries", "traits")

    def __init__(
        self, traits: dict[str, Any], events: list[Any], entries: dict[str, datetime]
    ) -> None:
        self.traits, self.events, self.stage_entries, self.signup_at = traits, events, entries, NOW


class Event:
    __slots__ = ("name", "timestamp")

    def __init__(self, name: str, timestamp: datetime) -> None:
        self.name, self.timestamp = name, timestamp


def facts_of(obs: Observations, rows: range) -> list[Facts]:
    out = []
    for i in rows:
        events = [
            Event(name, NOW + timedelta(hours=1))
            for j, name in enumerate(obs.event_names)
            for _ in range(int(obs.event_counts[i, j]))
        ]
        hours = obs.stage_hours[i, 0]
        entries = {} if np.isnan(hours) else {"first_login": NOW + timedelta(hours=float(hours))}
        out.append(Facts(dict(obs.traits[i]), events, entries))
    return out


def run_assignment(n: int, content_dir: Path) -> None:
    model = load_models(content_dir).models["personas@1"]
    assert isinstance(model, PersonaModel)
    pipeline = __import__("skops.io", fromlist=["load"]).load(
        content_dir / "segments/models/personas-v1/model.skops"
    )
    obs, _, _ = synthetic(n, 2)
    width = len(model.spec.columns())
    print(f"Assignment of {n:,} profiles (k = {model.clusters}, {width} features)", flush=True)
    matrix = encode(model.spec, obs)
    _, ours = timed(
        "batch: encode + PersonaModel.assign", lambda: model.assign(encode(model.spec, obs))
    )
    _, assign_only = timed("batch: PersonaModel.assign (encoded)", lambda: model.assign(matrix))
    _, bare = timed("baseline: pipeline.predict (encoded)", lambda: pipeline.predict(matrix))
    assert (model.assign(matrix) == pipeline.predict(matrix)).all()
    print(f"  batch with encoding: {n / ours:,.0f} profiles/s")
    print(f"  batch on the encoded matrix: {n / assign_only:,.0f} profiles/s")
    print(f"    = {bare / assign_only:.2f} x pipeline.predict ({n / bare:,.0f} profiles/s)")
    single = min(n, 20_000)
    facts = facts_of(obs, range(single))
    _, one = timed(
        f"ingestion: {single:,} x PersonaModel.outputs([facts])",
        lambda: [model.outputs([f], NOW) for f in facts],
    )
    rows = [matrix[i : i + 1] for i in range(single)]
    _, one_bare = timed(
        f"baseline: {single:,} x pipeline.predict(row)", lambda: [pipeline.predict(r) for r in rows]
    )
    print(
        f"  ingestion: {single / one:,.0f} profiles/s ({one / single * 1e6:.0f} us each) = "
        f"{one_bare / one:.1f} x one pipeline.predict per profile ({single / one_bare:,.0f}/s)"
    )


def run_sql(n: int) -> None:
    from engine.ml.repository import load_population
    from engine.store.db import create_db_engine
    from engine.store.migrate import upgrade
    from tests.ml.synthetic import population, store

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        sketches, _ = population(n, seed=5)
        store(engine, sketches)
        rows = sum(len(s.events) for s in sketches)
        del sketches
        print(f"SQL aggregation on SQLite: {n:,} profiles, {rows:,} events", flush=True)
        with engine.connect() as conn:
            _, ours = timed(
                "load_population (4 statements)",
                lambda: load_population(
                    conn,
                    signed_up_before=NOW,
                    window=timedelta(days=3),
                    stages=["first_login"],
                    target_stage="activation",
                ),
            )
            _, bare = timed(
                "baseline: fetch events (no grouping)",
                lambda: conn.exec_driver_sql(
                    "SELECT profile_id, name, timestamp FROM events"
                ).fetchall(),
            )
        print(
            f"  load_population = {ours / bare:.2f} x the bare fetch ({n / ours:,.0f} profiles/s)"
        )
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--assign", type=int, default=200_000)
    parser.add_argument("--db-profiles", type=int, default=0)
    args = parser.parse_args()
    print(f"start: peak RSS {peak_mb():,.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp)
        run_discovery(args.profiles, content)
        run_assignment(args.assign, content)
    if args.db_profiles:
        run_sql(args.db_profiles)
    print(f"end: peak RSS {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
