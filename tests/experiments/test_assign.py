"""Sticky assignment and exposure events in the store (both backends)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from engine.catalog.definitions import Experiment, GlobalHoldout
from engine.experiments import repository as repo
from engine.experiments.assignment import bucket_of, choose
from engine.experiments.service import assign, assign_global_holdout
from engine.store.db import write_transaction
from engine.store.tables import Event
from tests.experiments.factories import T0, create_profile

events = Event.__table__  # type: ignore[attr-defined]


def exp(variants: dict[str, int], *, holdout: bool = False) -> Experiment:
    return Experiment(key="welcome-test", variants=variants, holdout=holdout)


def exposure_events(conn: object) -> list[tuple[str, dict[str, str], str | None]]:
    query = select(events.c.message_id, events.c.properties, events.c.user_id).where(
        events.c.name == "experiment_exposed"
    )
    return [tuple(row) for row in conn.execute(query.order_by(events.c.id))]  # type: ignore[attr-defined]


def test_first_exposure_stores_the_row_and_one_event(db_engine: Engine) -> None:
    experiment = exp({"control": 50, "b": 50})
    with write_transaction(db_engine) as conn:
        create_profile(conn, 1, user_id="sophie", persona="power_user")
        first = assign(conn, experiment, profile_id=1, user_id="sophie", now=T0)
        again = assign(conn, experiment, profile_id=1, user_id="sophie", now=T0 + timedelta(days=3))
    expected, bucket = choose(experiment, "sophie")
    assert (first.variant, first.bucket, first.is_new, first.exposed_at) == (
        expected,
        bucket,
        True,
        T0,
    )
    assert (again.variant, again.bucket, again.is_new, again.exposed_at) == (
        expected,
        bucket,
        False,
        T0,
    )
    assert first.holdout is again.holdout is False
    with db_engine.connect() as conn:
        assert exposure_events(conn) == [
            (
                "parcours:experiment_exposed:1:welcome-test",
                {"experiment": "welcome-test", "variant": expected},
                "sophie",
            )
        ]
        stored = conn.execute(select(repo.assignments)).mappings().one()
    assert stored["persona"] == "power_user"  # the persona at exposure
    assert stored["exposed_at"] == T0


def test_weight_changes_and_new_variants_never_move_exposed_profiles(db_engine: Engine) -> None:
    before = exp({"control": 50, "b": 50})
    after = exp({"control": 10, "b": 30, "c": 60})
    with write_transaction(db_engine) as conn:
        for pid in range(1, 301):
            create_profile(conn, pid, user_id=f"u{pid}")
        first = {
            pid: assign(conn, before, profile_id=pid, user_id=f"u{pid}", now=T0)
            for pid in range(1, 201)
        }
        later = T0 + timedelta(days=1)
        second = {
            pid: assign(conn, after, profile_id=pid, user_id=f"u{pid}", now=later)
            for pid in range(1, 301)
        }
    for pid in range(1, 201):
        assert second[pid].variant == first[pid].variant
        assert second[pid].exposed_at == T0
        assert second[pid].is_new is False
    moved = sum(choose(after, f"u{pid}")[0] != first[pid].variant for pid in range(1, 201))
    assert moved > 50  # the new weights would have moved many of them
    for pid in range(201, 301):  # never exposed before: the new weights apply
        assert second[pid].variant == choose(after, f"u{pid}")[0]
        assert second[pid].is_new is True
    with db_engine.connect() as conn:
        assert len(exposure_events(conn)) == 300


def test_anonymous_profiles_hash_the_profile_id(db_engine: Engine) -> None:
    experiment = exp({"control": 50, "b": 50})
    with write_transaction(db_engine) as conn:
        create_profile(conn, 42)
        assignment = assign(conn, experiment, profile_id=42, user_id=None, now=T0)
    assert assignment.bucket == bucket_of("welcome-test", "", "42")


def test_holdout_control_receives_nothing(db_engine: Engine) -> None:
    experiment = exp({"control": 50, "b": 50}, holdout=True)
    with write_transaction(db_engine) as conn:
        for pid in range(1, 41):
            create_profile(conn, pid, user_id=f"u{pid}")
        got = [
            assign(conn, experiment, profile_id=p, user_id=f"u{p}", now=T0) for p in range(1, 41)
        ]
    assert {a.variant for a in got} == {"control", "b"}
    assert all(a.holdout == (a.variant == "control") for a in got)


def test_global_holdout_keeps_held_out_profiles_out_of_flow_experiments(db_engine: Engine) -> None:
    holdout = GlobalHoldout(holdout="onboarding", percent=30)
    experiment = exp({"control": 50, "b": 50})
    with write_transaction(db_engine) as conn:
        for pid in range(1, 61):
            create_profile(conn, pid, user_id=f"u{pid}")
        got = {
            pid: assign(
                conn, experiment, profile_id=pid, user_id=f"u{pid}", now=T0, holdout=holdout
            )
            for pid in range(1, 61)
        }
        direct = assign_global_holdout(conn, holdout, profile_id=1, user_id="u1", now=T0)
    held = {pid for pid in got if choose(holdout.experiment, f"u{pid}")[0] == "holdout"}
    assert 0 < len(held) < 60
    for pid, assignment in got.items():
        if pid in held:
            assert (assignment.experiment, assignment.variant, assignment.holdout) == (
                "onboarding",
                "holdout",
                True,
            )
        else:
            assert (assignment.experiment, assignment.holdout) == ("welcome-test", False)
    assert direct.is_new is False  # recorded by the first call already
    with db_engine.connect() as conn:
        per_key = dict(
            conn.execute(
                select(repo.assignments.c.experiment, func.count()).group_by(
                    repo.assignments.c.experiment
                )
            ).all()
        )
    assert per_key == {"onboarding": 60, "welcome-test": 60 - len(held)}


def test_a_concurrent_first_exposure_is_read_back(db_engine: Engine) -> None:
    experiment = exp({"control": 50, "b": 50})
    with write_transaction(db_engine) as conn:
        create_profile(conn, 1, user_id="u1")
        # Another transaction stored this profile first, with a variant the hash would not give.
        other = "b" if choose(experiment, "u1")[0] == "control" else "control"
        assert repo.insert_assignment(conn, "welcome-test", 1, other, 7, T0)
        assert not repo.insert_assignment(conn, "welcome-test", 1, "control", 7, T0)
        assignment = assign(conn, experiment, profile_id=1, user_id="u1", now=T0 + timedelta(1))
    assert (assignment.variant, assignment.is_new, assignment.exposed_at) == (other, False, T0)


def test_merged_profiles_keep_their_exposure(db_engine: Engine) -> None:
    experiment = exp({"control": 50, "b": 50})
    with write_transaction(db_engine) as conn:
        create_profile(conn, 1)
        create_profile(conn, 2, user_id="u2")
        anonymous = assign(conn, experiment, profile_id=1, user_id=None, now=T0)
        repo.move_assignments(conn, gone=1, survivor=2)
        after = assign(conn, experiment, profile_id=2, user_id="u2", now=T0 + timedelta(1))
    assert (after.variant, after.exposed_at, after.is_new) == (anonymous.variant, T0, False)
