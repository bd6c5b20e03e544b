"""Folding changes how results are computed, never what they are: the sums equal the
per-profile reference whatever has been folded, after merges, erasures and changed metric
definitions, on both backends. The metrics come with their CUPED covariate parts (x and x·y),
which fold, retract and refold the same way."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from engine.catalog.metrics import StageMetric
from engine.experiments import outcomes, sums
from engine.experiments.covariates import Covariate, Measured, with_covariates
from engine.profiles.repository import erase_profile
from engine.store.db import write_transaction
from engine.store.tables import Event
from tests.experiments.factories import T0
from tests.experiments.test_metric_sql import (
    KEY,
    PARTS,
    Plain,
    Seeded,
    expected,
    plain,
    reference,
    seed,
)

events = Event.__table__  # type: ignore[attr-defined]


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def fold(engine: Engine, days: float, metrics: list[Measured] = PARTS) -> None:
    outcomes.fold_experiment(engine, KEY, metrics, at(days))


def cutoffs(days: float, metrics: list[Measured] = PARTS, in_progress: bool = False) -> list:  # type: ignore[type-arg]
    return [at(days) if in_progress else at(days) - m.window_end for m in metrics]


def results(engine: Engine, when: list[datetime], metrics: list[Measured] = PARTS) -> Plain:
    with engine.connect() as conn:
        return plain(sums.group_sums(conn, KEY, metrics, when))


def check(engine: Engine, data: Seeded, days: float) -> None:
    """Results now, a little later, much later, in progress, and at the seed's horizon
    (before the fold: read from the stored values) all equal the reference."""
    for when in (days, days + 0.5, 130.0, 45.0):
        for in_progress in (False, True):
            c = cutoffs(when, in_progress=in_progress)
            assert results(engine, c) == expected(data, PARTS, c), (when, in_progress)


def erase(engine: Engine, data: Seeded, pid: int) -> None:
    """Erase a profile, and drop it from the reference data."""
    with write_transaction(engine) as conn:
        erase_profile(conn, pid)
    for table in (data.group, data.exposed, data.stages, data.events):
        table.pop(pid, None)


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outcomes.outcomes)).scalar_one())


# Folds that store nothing, part of the exposures (different per metric) and all of them.
@pytest.mark.parametrize("days", [10, 35, 52, 120])
def test_results_are_the_same_whatever_is_folded(db_engine: Engine, days: int) -> None:
    data = seed(db_engine)
    fold(db_engine, days)
    check(db_engine, data, days)


def test_folding_is_incremental_and_idempotent(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 35)
    first = stored(db_engine)
    for days in (36, 52, 52, 120, 120):
        fold(db_engine, days)
        check(db_engine, data, days)
    assert 0 < first < stored(db_engine)
    # Only non-zero values are stored: exactly the profiles whose reference is not 0.
    nonzero = sum(1 for pid in data.group for m in PARTS if reference(m, data, pid))
    assert stored(db_engine) == nonzero
    with db_engine.connect() as conn:
        rollups = conn.execute(select(outcomes.rollups)).mappings().all()
    exposures = [r for r in rollups if r["metric"] == outcomes.EXPOSURES]
    assert sum(r["users"] for r in exposures) == len(data.group)


def test_a_merge_is_retracted_and_folded_again(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 120)
    # Profile 2 merges into profile 1, as identity resolution does: its events move, its
    # assignment is dropped with it (1 keeps its own), and 1's values change.
    gone, survivor = 2, 1
    with write_transaction(db_engine) as conn:
        conn.execute(update(events).where(events.c.profile_id == gone).values(profile_id=survivor))
        outcomes.merge_assignments(conn, gone, survivor)
        erase_profile(conn, gone)
        queued = outcomes.refolding(conn, KEY)
    assert len(queued) == len(PARTS) + 1
    assert all(q == [survivor] for q in queued.values())
    data.events[survivor] += data.events.pop(gone)
    for table in (data.group, data.exposed, data.stages):
        table.pop(gone, None)
    check(db_engine, data, 120)
    fold(db_engine, 121)
    with db_engine.connect() as conn:
        assert outcomes.refolding(conn, KEY) == {}
    check(db_engine, data, 121)


def test_an_erased_profile_leaves_every_sum(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 52)
    for pid in (3, 4, 150):
        erase(db_engine, data, pid)
    check(db_engine, data, 52)
    fold(db_engine, 120)
    check(db_engine, data, 120)


def test_a_changed_metric_definition_is_folded_afresh(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 120)
    longer = StageMetric(stage="activation", within=timedelta(days=20), name="activation_14d")
    changed = with_covariates([longer, *(p for p in PARTS[3:] if not isinstance(p, Covariate))])
    assert outcomes.metric_key(longer) != outcomes.metric_key(PARTS[0])
    assert outcomes.metric_key(changed[1]) != outcomes.metric_key(PARTS[1])  # its covariate too
    c = cutoffs(130, changed)
    assert results(db_engine, c, changed) == expected(data, changed, c)
    fold(db_engine, 121, changed)
    assert results(db_engine, c, changed) == expected(data, changed, c)
    with db_engine.connect() as conn:
        kept = set(conn.execute(select(outcomes.folds.c.metric)).scalars())
    assert kept == {outcomes.EXPOSURES, *(outcomes.metric_key(m) for m in changed)}
