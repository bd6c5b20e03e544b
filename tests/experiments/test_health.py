"""Health checks: profiles exposed to more than one variant are counted, flagged and kept in
the surviving profile's variant (both backends)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.experiments import outcomes
from engine.experiments import repository as repo
from engine.experiments.health import mixed_exposures
from engine.experiments.service import experiment_results
from engine.profiles.repository import erase_profile
from engine.store.db import write_transaction
from tests.conftest import START
from tests.experiments.factories import create_profile

KEY = "split-test"
EXPOSED = START - timedelta(days=20)


def expose(engine: Engine, variants: dict[int, str]) -> None:
    with write_transaction(engine) as conn:
        for pid, variant in variants.items():
            create_profile(conn, pid, user_id=f"u{pid}")
            repo.insert_assignment(conn, KEY, pid, variant, 0, EXPOSED + timedelta(hours=pid))


def merge(engine: Engine, gone: int, survivor: int) -> None:
    """What identity resolution does: move the assignments, then drop the merged profile."""
    with write_transaction(engine) as conn:
        outcomes.merge_assignments(conn, gone, survivor)
        erase_profile(conn, gone)


def health(engine: Engine, catalog: Catalog) -> dict[str, object]:
    with engine.connect() as conn:
        return experiment_results(conn, catalog, KEY, START).health.model_dump()


def test_a_merge_across_variants_is_counted_and_kept(db_engine: Engine, catalog: Catalog) -> None:
    expose(db_engine, {1: "control", 2: "b", 3: "b", 4: "b", 5: "control"})
    merge(db_engine, gone=2, survivor=1)  # control and b: mixed, kept in control
    merge(db_engine, gone=4, survivor=3)  # both b: nothing to flag
    found = health(db_engine, catalog)
    assert found["mixed_exposures"] == 1
    assert found["mixed_by_variant"] == {"control": 1}
    assert found["mixed_share"] == 1 / 3  # of the three profiles left exposed
    assert found["mixed_rule"] == "kept in the surviving profile's variant"
    assert found["mixed_warning"] is not None
    with db_engine.connect() as conn:
        kept = repo.find_assignment(conn, KEY, 1)
        results = experiment_results(conn, catalog, KEY, START)
    assert kept is not None
    assert kept.variant == "control"
    assert {e.variant: e.users for e in results.exposures} == {"control": 2, "b": 1}


def test_a_mixed_profile_stays_mixed_through_another_merge_and_leaves_on_erasure(
    db_engine: Engine, catalog: Catalog
) -> None:
    expose(db_engine, {1: "control", 2: "b", 3: "b"})
    merge(db_engine, gone=2, survivor=1)
    with write_transaction(db_engine) as conn:
        create_profile(conn, 9, user_id="u9")  # never exposed: takes over profile 1's exposure
    merge(db_engine, gone=1, survivor=9)
    assert health(db_engine, catalog)["mixed_by_variant"] == {"control": 1}
    with write_transaction(db_engine) as conn:
        erase_profile(conn, 9)
    assert health(db_engine, catalog)["mixed_exposures"] == 0


def test_the_warning_starts_at_one_percent() -> None:
    assert mixed_exposures({"b": 99}, 10_000).warning is None
    flagged = mixed_exposures({"b": 60, "control": 40}, 10_000)
    assert (flagged.profiles, flagged.share) == (100, 0.01)
    assert flagged.warning is not None
    assert "1.0%" in flagged.warning
    assert mixed_exposures({}, 0).share is None
