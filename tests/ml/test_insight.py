"""Per-persona insight finds an effect planted in one persona only, and says why."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportions_ztest

from engine.experiments.arms import ArmStats
from engine.ml.commands import insight_command
from engine.ml.insight import persona_insight

RATES = {  # persona -> variant -> true activation rate; only builders respond to the tour
    "builders": {"control": 0.20, "tour": 0.30},
    "browsers": {"control": 0.20, "tour": 0.20},
    "admins": {"control": 0.35, "tour": 0.35},
}


def simulate(users_per_arm: int, seed: int) -> dict[str, dict[str, ArmStats]]:
    rng = random.Random(seed)
    return {
        persona: {
            variant: ArmStats.from_conversions(
                users_per_arm, sum(rng.random() < rate for _ in range(users_per_arm))
            )
            for variant, rate in variants.items()
        }
        for persona, variants in RATES.items()
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_planted_persona_gets_the_variant_and_the_others_keep_control(seed: int) -> None:
    arms = simulate(2000, seed)
    insight = persona_insight(arms, "control")
    decisions = {p.persona: (p.decision, p.ship) for p in insight.personas}
    assert decisions == {
        "builders": ("ship", "tour"),
        "browsers": ("keep_control", "control"),
        "admins": ("keep_control", "control"),
    }
    builders = next(p for p in insight.personas if p.persona == "builders")
    evidence = builders.variants[0].comparison
    assert evidence.ci_absolute is not None
    assert evidence.ci_absolute[0] > 0
    assert evidence.absolute_lift == pytest.approx(0.10, abs=0.04)
    assert "tour raised activation from" in builders.reason
    assert "Holm-adjusted" in builders.reason
    for other in (p for p in insight.personas if p.persona != "builders"):
        interval = other.variants[0].comparison.ci_absolute
        assert interval is not None
        assert interval[0] < 0 < interval[1]
        assert "no variant differs from control" in other.reason
        assert "this sample detects lifts of about" in other.reason
    assert insight.comparisons == 3
    (tour,) = insight.heterogeneity
    assert tour.p_value is not None
    assert tour.p_value < 0.01


def test_p_values_agree_with_an_independent_z_test() -> None:
    arms = simulate(2000, 4)
    insight = persona_insight(arms, "control", correction="none")
    for persona in insight.personas:
        control, tour = arms[persona.persona]["control"], arms[persona.persona]["tour"]
        _, reference = proportions_ztest(
            [tour.sum, control.sum], [tour.users, control.users], prop_var=False
        )
        ours = persona.variants[0].comparison.p_value_absolute
        assert ours == pytest.approx(reference, rel=0.05, abs=1e-6)


def test_no_effect_anywhere_keeps_control_everywhere() -> None:
    rng = random.Random(5)
    arms = {
        persona: {
            v: ArmStats.from_conversions(1500, sum(rng.random() < 0.25 for _ in range(1500)))
            for v in ("control", "a", "b")
        }
        for persona in ("p1", "p2", "p3", "p4")
    }
    insight = persona_insight(arms, "control")
    assert {p.decision for p in insight.personas} == {"keep_control"}
    assert insight.comparisons == 8


def test_a_variant_that_hurts_is_named() -> None:
    arms = {
        "p": {
            "control": ArmStats.from_conversions(3000, 900),
            "b": ArmStats.from_conversions(3000, 600),
        }
    }
    (persona,) = persona_insight(arms, "control").personas
    assert persona.decision == "keep_control"
    assert persona.reason.startswith("no variant beat control; b lowered activation (-10.0 pp")


def test_small_personas_are_not_judged() -> None:
    arms = {
        "tiny": {
            "control": ArmStats.from_conversions(40, 4),
            "tour": ArmStats.from_conversions(40, 30),
        }
    }
    (persona,) = persona_insight(arms, "control", min_users=100).personas
    assert (persona.decision, persona.ship) == ("insufficient_data", "control")
    (heterogeneity,) = persona_insight(arms, "control").heterogeneity
    assert heterogeneity.reason == "fewer_than_two_personas"


def write_export(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "variant", "converted", "segment"])
        number = 0
        for persona, variants in RATES.items():
            for variant, rate in variants.items():
                for _ in range(1500):
                    number += 1
                    writer.writerow([f"u{number}", variant, int(rng.random() < rate), persona])


def test_the_command_reads_an_export(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write_export(path, 6)
    out = io.StringIO()
    assert insight_command(path, output_format="json", out=out) == 0
    report = json.loads(out.getvalue())
    assert {p["persona"]: p["ship"] for p in report["personas"]} == {
        "admins": "control",
        "browsers": "control",
        "builders": "tour",
    }
    table = io.StringIO()
    assert insight_command(path, out=table) == 0
    assert "builders: ship tour" in table.getvalue()
    assert "Cochran's Q" in table.getvalue()


def test_the_command_refuses_an_export_without_personas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("user_id,variant,converted\nu1,control,1\nu2,tour,0\n")
    assert insight_command(path) == 1
    assert "no segment column" in capsys.readouterr().err
    assert insight_command(path, output_format="xml") == 2
