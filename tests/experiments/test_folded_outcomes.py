"""Folded outcomes change how results are computed, never what they are: the sums equal
the per-profile reference whatever has been folded, after merges and definition changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, select, update

from engine.catalog.metrics import Metric, StageMetric
from engine.experiments import outcomes, sums
from engine.experiments import repository as repo
from engine.store.db import write_transaction
from engine.store.tables import Event, Profile
from tests.experiments.factories import T0
from tests.experiments.test_metric_sql import (
    KEY,
    METRICS,
    NOW,
    Plain,
    expected,
    plain,
    reference,
    seed,
)

CUTOFFS = [NOW - m.window_end for m in METRICS]
events = Event.__table__  # type: ignore[attr-defined]
profiles = Profile.__table__  # type: ignore[attr-defined]


def fold(engine: Engine, at_days: float, metrics: list[Metric] = METRICS) -> None:
    with write_transaction(engine) as conn:
        outcomes.fold(conn, KEY, metrics, T0 + timedelta(days=at_days))


def results(engine: Engine, cutoffs: list[datetime] = CUTOFFS) -> Plain:
    with engine.connect() as conn:
        return plain(sums.group_sums(conn, KEY, METRICS, cutoffs))


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(repo.outcomes)).scalar_one())


# Folds that store nothing, part of the exposures (different per metric) and all of them.
@pytest.mark.parametrize("at_days", [10, 35, 52, 120])
def test_results_are_the_same_whatever_is_folded(db_engine: Engine, at_days: int) -> None:
    data = seed(db_engine)
    before = results(db_engine)
    assert before == expected(data, METRICS, CUTOFFS)
    fold(db_engine, at_days)
    assert results(db_engine) == before
    in_progress = [NOW] * len(METRICS)
    assert results(db_engine, in_progress) == expected(data, METRICS, in_progress)


def test_folding_is_incremental_and_idempotent(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 35)
    first = stored(db_engine)
    fold(db_engine, 120)
    second = stored(db_engine)
    fold(db_engine, 120)
    assert 0 < first < second == stored(db_engine)
    assert results(db_engine) == expected(data, METRICS, CUTOFFS)
    # Only non-zero values are stored: exactly the profiles whose reference is not 0.
    with db_engine.connect() as conn:
        keys = {outcomes.metric_key(m): m for m in METRICS}
        rows = conn.execute(select(repo.outcomes.c.metric, repo.outcomes.c.value)).all()
    nonzero = sum(1 for pid in data.group for m in METRICS if reference(m, data, pid))
    assert len(rows) == nonzero
    assert all(value > 0 and key in keys for key, value in rows)


def test_a_merged_profile_is_computed_live_until_folded_again(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 120)
    # Profile 2 merges into profile 1, as identity resolution does: its events move, its
    # assignment is dropped with it (1 keeps its own), and 1's values change.
    gone, survivor = 2, 1
    with write_transaction(db_engine) as conn:
        conn.execute(update(events).where(events.c.profile_id == gone).values(profile_id=survivor))
        repo.move_assignments(conn, gone, survivor)
        conn.execute(delete(profiles).where(profiles.c.id == gone))
        assert outcomes.refolding(conn, KEY) == [survivor]
    data.events[survivor] += data.events.pop(gone)
    for table in (data.group, data.exposed, data.stages):
        table.pop(gone, None)
    wanted = expected(data, METRICS, CUTOFFS)
    assert results(db_engine) == wanted
    fold(db_engine, 121)
    with db_engine.connect() as conn:
        assert outcomes.refolding(conn, KEY) == []
    assert results(db_engine) == wanted


def test_a_changed_metric_definition_is_folded_afresh(db_engine: Engine) -> None:
    data = seed(db_engine)
    fold(db_engine, 120)
    longer = StageMetric(stage="activation", within=timedelta(days=20), name="activation_14d")
    changed = [longer, *METRICS[1:]]
    assert outcomes.metric_key(longer) != outcomes.metric_key(METRICS[0])
    cutoffs = [NOW - m.window_end for m in changed]
    with db_engine.connect() as conn:
        live = plain(sums.group_sums(conn, KEY, changed, cutoffs))
    assert live == expected(data, changed, cutoffs)
    fold(db_engine, 121, changed)
    with db_engine.connect() as conn:
        assert plain(sums.group_sums(conn, KEY, changed, cutoffs)) == live
        metrics_stored = set(conn.execute(select(repo.outcomes.c.metric).distinct()).scalars())
    assert metrics_stored <= {outcomes.metric_key(m) for m in changed}
