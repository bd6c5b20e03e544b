"""SQL metric sums equal an independent per-profile computation on the same data."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from engine.catalog.metrics import (
    EventCountMetric,
    EventMetric,
    Metric,
    RetentionMetric,
    StageMetric,
)
from engine.experiments import repository as repo
from engine.experiments import sums
from engine.experiments.covariates import Covariate, Measured, with_covariates
from engine.store.db import write_transaction
from tests.experiments.factories import T0, add_events, create_profile, enter_stage

KEY = "sql-test"
NOW = T0 + timedelta(days=45)
US = timedelta(microseconds=1)
METRICS: list[Metric] = [
    StageMetric(stage="activation", within=timedelta(days=14)),
    EventMetric(event="unsubscribed", within=timedelta(days=30)),
    EventCountMetric(event_count="campaign_sent", within=timedelta(hours=36)),
    RetentionMetric(retention=timedelta(days=7)),
]
PARTS: list[Measured] = with_covariates(METRICS)  # each metric with its CUPED covariate parts
# Offsets from exposure that sit on, just inside and just outside every window edge.
EDGES = [
    -US,
    timedelta(0),
    US,
    timedelta(hours=36) - US,
    timedelta(hours=36),
    timedelta(hours=36) + US,
    timedelta(days=7) - US,
    timedelta(days=7),
    timedelta(days=8) - US,
    timedelta(days=8),
    timedelta(days=14),
    timedelta(days=14) + US,
    timedelta(days=30),
    timedelta(days=30) + US,
]


@dataclass
class Seeded:
    """What was written, kept per profile for the reference computation."""

    group: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    exposed: dict[int, datetime] = field(default_factory=dict)
    stages: dict[int, datetime] = field(default_factory=dict)
    events: dict[int, list[tuple[str, str, datetime]]] = field(default_factory=dict)


def offset(rng: random.Random) -> timedelta:
    if rng.random() < 0.4:
        return rng.choice(EDGES)
    return timedelta(seconds=rng.uniform(-2 * 86_400, 35 * 86_400))


def seed(engine: Engine, profiles: int = 160) -> Seeded:
    rng = random.Random(20260105)
    data = Seeded()
    with write_transaction(engine) as conn:
        for pid in range(1, profiles + 1):
            persona = rng.choice([None, "beginner", "power"])
            create_profile(conn, pid, user_id=f"u{pid}", persona=persona)
            variant = rng.choice(["control", "b", "c"])
            exposed = T0 + timedelta(seconds=rng.uniform(0, 40 * 86_400))
            repo.insert_assignment(conn, KEY, pid, variant, 0, exposed)
            data.group[pid], data.exposed[pid] = (variant, persona), exposed
            if rng.random() < 0.7:
                data.stages[pid] = exposed + offset(rng)
                enter_stage(conn, pid, "activation", data.stages[pid])
            enter_stage(conn, pid, "signup", exposed - timedelta(hours=1))  # never measured
            kinds = [("track", "campaign_sent"), ("track", "unsubscribed"), ("page", "pricing")]
            kinds += [("identify", None), ("internal", "stage_entered"), ("screen", "home")]
            data.events[pid] = [
                (type_, name or "", exposed + offset(rng))
                for type_, name in rng.choices(kinds, k=rng.randrange(0, 9))
            ]
            add_events(conn, [(pid, t, n, at) for t, n, at in data.events[pid]])
        # Another experiment's assignments must never leak into this one's sums.
        repo.insert_assignment(conn, "other", 1, "control", 0, T0)
    return data


def reference(metric: Measured, data: Seeded, pid: int) -> float:
    """The metric (or covariate part) of one profile, from the seeded values alone."""
    exposed = data.exposed[pid]
    if isinstance(metric, Covariate):
        # The same event, or activity for stage and retention metrics, in the 14 days before.
        name = {EventMetric: "event", EventCountMetric: "event_count"}.get(type(metric.metric))
        wanted = getattr(metric.metric, name) if name else None
        x = sum(
            1
            for t, n, at in data.events[pid]
            if exposed - timedelta(days=14) <= at < exposed
            and (n == wanted if wanted else t in ("track", "page", "screen"))
        )
        return x * reference(metric.metric, data, pid) if metric.product else float(x)
    if isinstance(metric, StageMetric):
        at = data.stages.get(pid)
        return float(at is not None and exposed <= at <= exposed + metric.within)
    if isinstance(metric, RetentionMetric):
        start, end = exposed + metric.retention, exposed + metric.retention + timedelta(days=1)
        active = [at for t, _, at in data.events[pid] if t in ("track", "page", "screen")]
        return float(any(start <= at < end for at in active))
    name = metric.event if isinstance(metric, EventMetric) else metric.event_count
    hits = [
        1 for _, n, at in data.events[pid] if n == name and exposed <= at <= exposed + metric.within
    ]
    return float(len(hits)) if isinstance(metric, EventCountMetric) else float(bool(hits))


Plain = dict[tuple[str, str | None], tuple[int, tuple[int, ...], tuple[tuple[float, float], ...]]]


def expected(data: Seeded, metrics: Sequence[Measured], cutoffs: list[datetime]) -> Plain:
    """Per group: exposures, eligible profiles per metric and (Σy, Σy²), from the seed."""
    users: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0] * len(metrics))
    exposed: dict[tuple[str, str | None], int] = defaultdict(int)
    sums = defaultdict(lambda: [[0.0, 0.0] for _ in metrics])
    for pid, group in data.group.items():
        exposed[group] += 1
        for index, metric in enumerate(metrics):
            if data.exposed[pid] <= cutoffs[index]:
                users[group][index] += 1
                y = reference(metric, data, pid)
                sums[group][index][0] += y
                sums[group][index][1] += y * y
    return {g: (n, tuple(users[g]), tuple((a, b) for a, b in sums[g])) for g, n in exposed.items()}


def plain(groups: dict[tuple[str, str | None], sums.GroupSums]) -> Plain:
    return {g: (r.exposed, r.eligible, r.sums) for g, r in groups.items()}


@pytest.mark.parametrize("in_progress", [False, True], ids=["mature", "in_progress"])
def test_sums_match_a_per_profile_computation(db_engine: Engine, in_progress: bool) -> None:
    data = seed(db_engine)
    cutoffs = [NOW if in_progress else NOW - m.window_end for m in PARTS]
    with db_engine.connect() as conn:
        groups = sums.group_sums(conn, KEY, PARTS, cutoffs)
    wanted = expected(data, PARTS, cutoffs)
    assert plain(groups) == wanted
    # The data is not trivial: every metric and covariate has values, and some cross term.
    nonzero = [any(s[i][0] > 0 for _, _, s in wanted.values()) for i in range(len(PARTS))]
    products = [isinstance(p, Covariate) and p.product for p in PARTS]
    assert all(found for found, product in zip(nonzero, products, strict=True) if not product)
    assert any(found for found, product in zip(nonzero, products, strict=True) if product)


def test_first_and_last_exposure_per_group(db_engine: Engine) -> None:
    data = seed(db_engine, profiles=30)
    with db_engine.connect() as conn:
        groups = sums.group_sums(conn, KEY, [], [])
    for group, row in groups.items():
        times = [data.exposed[pid] for pid, g in data.group.items() if g == group]
        assert (row.first_exposed_at, row.last_exposed_at) == (min(times), max(times))
        assert (row.eligible, row.sums) == ((), ())


def test_metrics_can_be_computed_alone(db_engine: Engine) -> None:
    """Each metric on its own gives the same sums as all of them together."""
    seed(db_engine, profiles=60)
    cutoffs = [NOW - m.window_end for m in METRICS]
    with db_engine.connect() as conn:
        together = sums.group_sums(conn, KEY, METRICS, cutoffs)
        for index, metric in enumerate(METRICS):
            alone = sums.group_sums(conn, KEY, [metric], [cutoffs[index]])
            assert {g: r.sums[0] for g, r in alone.items()} == {
                g: r.sums[index] for g, r in together.items()
            }
