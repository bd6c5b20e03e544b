"""The experiments API over HTTP: auth, 404s, assignments, and results that equal an
independent computation with the pure statistics (both backends)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.experiments.arms import ArmStats
from engine.experiments.service import assign
from engine.experiments.statistics import compare_arms
from engine.store.db import write_transaction
from tests.conftest import START
from tests.experiments.factories import create_profile, enter_stage

KEY = "split-test"


def seed(
    engine: Engine, catalog: Catalog, n: int = 240
) -> dict[int, tuple[str, str | None, bool, datetime]]:
    """Profiles assigned through the service; returns (variant, persona, converted, exposed)."""
    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    rng = random.Random(11)
    out = {}
    with write_transaction(engine) as conn:
        for pid in range(1, n + 1):
            persona = rng.choice([None, "beginner", "power"])
            create_profile(conn, pid, user_id=f"u{pid}", persona=persona)
            exposed = START - timedelta(days=rng.choice([40, 30, 20, 15, 3, 1]), hours=rng.random())
            a = assign(conn, experiment, profile_id=pid, user_id=f"u{pid}", now=exposed)
            rate = 0.3 if a.variant == "control" else 0.45
            converted = rng.random() < rate
            if converted:
                enter_stage(conn, pid, "activation", exposed + timedelta(days=rng.uniform(0, 13)))
            out[pid] = (a.variant, persona, converted, exposed)
    return out


def test_every_endpoint_needs_the_admin_key(client: TestClient) -> None:
    for path in (
        "/v1/experiments",
        f"/v1/experiments/{KEY}/results",
        f"/v1/experiments/{KEY}/assignments/u1",
    ):
        response = client.get(path)
        assert response.status_code == 401
        assert set(response.json()) == {"code", "message"}
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


def test_unknown_experiment_user_and_exposure_are_404(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, catalog: Catalog
) -> None:
    for path in ("/v1/experiments/nope/results", "/v1/experiments/nope/assignments/u1"):
        response = client.get(path, headers=admin_headers)
        assert response.status_code == 404
        assert response.json() == {
            "code": "not_found",
            "message": "no experiment 'nope' in the live content",
        }
    response = client.get(f"/v1/experiments/{KEY}/assignments/ghost", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    with write_transaction(db_engine) as conn:
        create_profile(conn, 1, user_id="u1")
    response = client.get(f"/v1/experiments/{KEY}/assignments/u1", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_assigned"


def test_assignment_and_list(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, catalog: Catalog
) -> None:
    seeded = seed(db_engine, catalog, n=20)
    variant, _, _, exposed = seeded[7]
    body = client.get(f"/v1/experiments/{KEY}/assignments/u7", headers=admin_headers).json()
    assert body["variant"] == variant
    assert body["holdout"] is False
    assert datetime.fromisoformat(body["exposed_at"]) == exposed
    listing = client.get("/v1/experiments", headers=admin_headers).json()["data"]
    by_key = {item["key"]: item for item in listing}
    assert set(by_key) == {KEY, "onboarding-holdout"}
    split = by_key[KEY]
    assert (split["flow"], split["control"], split["metric"], split["exposed"]) == (
        "split",
        "control",
        "activation_14d",
        20,
    )
    counts = {v: sum(1 for s in seeded.values() if s[0] == v) for v in ("control", "b")}
    assert split["variants"] == [
        {"variant": "control", "weight": 40, "users": counts["control"]},
        {"variant": "b", "weight": 60, "users": counts["b"]},
    ]
    holdout = by_key["onboarding-holdout"]
    assert (holdout["flow"], holdout["global_holdout"], holdout["holdout"]) == (None, True, True)
    assert holdout["exposed"] == 0


def test_results_equal_compare_arms_on_independent_sums(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, catalog: Catalog
) -> None:
    seeded = seed(db_engine, catalog)
    cutoff = START - timedelta(days=14)
    values: dict[str, list[float]] = defaultdict(list)
    per_persona: dict[tuple[str, str], list[float]] = defaultdict(list)
    for variant, persona, converted, exposed in seeded.values():
        if exposed <= cutoff:
            values[variant].append(float(converted))
            per_persona[(persona or "(none)", variant)].append(float(converted))
    # No events before exposure: every profile's CUPED covariate (activity) is 0.
    arms = {
        v: ArmStats.from_values(ys, [0.0] * len(ys), kind="proportion") for v, ys in values.items()
    }
    expected = compare_arms(arms["control"], arms["b"], name="b").to_json(with_cuped=True)
    expected["p_value_adjusted"] = expected["p_value"]  # one comparison: no correction

    response = client.get(f"/v1/experiments/{KEY}/results", headers=admin_headers)
    assert response.status_code == 200
    assert "NaN" not in response.text
    assert "Infinity" not in response.text
    report = response.json()
    assert (report["experiment"], report["metric"], report["control"]) == (
        KEY,
        "activation_14d",
        "control",
    )
    assert report["users"] == sum(len(ys) for ys in values.values())
    assert report["exposed"] == len(seeded)
    assert report["variants"] == [
        {"variant": v, "users": len(values[v]), "conversions": sum(values[v]), "rate": arms[v].mean}
        for v in ("control", "b")
    ]
    (comparison,) = report["comparisons"]
    assert comparison.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, str | None):
            assert comparison[name] == value, name
        else:
            assert comparison[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    exposed = [sum(1 for s in seeded.values() if s[0] == v) for v in ("control", "b")]
    srm = stats.chisquare(exposed, [len(seeded) * 0.4, len(seeded) * 0.6])
    assert report["exposure_srm"]["p_value"] == pytest.approx(srm.pvalue)
    assert report["srm_p_value"] == pytest.approx(
        stats.chisquare(
            [len(values["control"]), len(values["b"])], [report["users"] * w for w in (0.4, 0.6)]
        ).pvalue
    )
    segments = {s["segment"]: s for s in report["segments"]}
    assert list(segments) == ["(none)", "beginner", "power"]
    minimum = catalog.flows["split"].experiment.minimum_sample  # type: ignore[union-attr]
    verdicts = set()
    for persona, segment in segments.items():
        ys_a, ys_b = per_persona[(persona, "control")], per_persona[(persona, "b")]
        control = ArmStats.from_values(ys_a, kind="proportion")
        variant = ArmStats.from_values(ys_b, kind="proportion")
        small = any(len(ys) < minimum.users or sum(ys) < minimum.conversions for ys in (ys_a, ys_b))
        verdicts.add(small)
        found = segment["comparisons"][0]
        if small:
            assert (found["reason"], found["p_value"]) == ("not_enough_data", None)
        else:
            reference = compare_arms(control, variant, name="b")
            assert found["p_value"] == pytest.approx(reference.p_value)
        assert segment["users"] == control.users + variant.users
    assert verdicts == {True, False}  # the seed has personas on both sides of the minimum
    assert [m["metric"] for m in report["secondary"]] == ["retention_d7", "retention_d30"]
    assert [m["metric"] for m in report["guardrails"]] == ["unsubscribed_30d"]
    assert report["guardrails"][0]["better"] == "lower"
    assert report["settings"] == {
        "alpha": 0.05,
        "segment_correction": "holm",
        "metric_correction": "none",
        "include_in_progress": False,
    }

    in_progress = client.get(
        f"/v1/experiments/{KEY}/results?include_in_progress=true", headers=admin_headers
    ).json()
    assert in_progress["users"] == len(seeded)


def test_degenerate_results_are_null_never_nan(
    client: TestClient, admin_headers: dict[str, str], db_engine: Engine, catalog: Catalog
) -> None:
    empty = client.get(f"/v1/experiments/{KEY}/results", headers=admin_headers)
    assert empty.status_code == 200
    body = empty.json()
    assert (body["users"], body["exposed"], body["srm_reason"]) == (0, 0, "no_users")
    assert body["comparisons"][0]["reason"] == "empty_arm"
    assert body["segments"] == []

    experiment = catalog.flows["split"].experiment
    assert experiment is not None
    with write_transaction(db_engine) as conn:
        for pid in range(1, 80):  # above the minimum sample in both arms
            create_profile(conn, pid, user_id=f"u{pid}")
            exposed = START - timedelta(days=20)
            assign(conn, experiment, profile_id=pid, user_id=f"u{pid}", now=exposed)
            enter_stage(conn, pid, "activation", exposed + timedelta(days=1))  # 100% everywhere
    for path in (f"/v1/experiments/{KEY}/results", "/v1/experiments/onboarding-holdout/results"):
        response = client.get(path, headers=admin_headers)
        assert response.status_code == 200
        assert "NaN" not in response.text
        assert "Infinity" not in response.text
    body = client.get(f"/v1/experiments/{KEY}/results", headers=admin_headers).json()
    found = body["comparisons"][0]
    assert (found["reason"], found["p_value"]) == ("boundary_rate", 1.0)  # Fisher, equal tables
    low, high = found["ci_absolute"]
    assert low < 0 < high
    assert [arm["rate"] for arm in body["variants"]] == [1.0, 1.0]
