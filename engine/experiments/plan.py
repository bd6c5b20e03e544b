"""An experiment's plan from its live traffic and baseline: what it can detect, and when.

    experiment_plan(conn, catalog, key, now, lift=0.1, power=0.8) -> ExperimentPlan

The traffic is the exposures per day since the first exposure; the baseline is the control's
primary metric over the profiles counted so far (its per-user variance too, for a mean
metric). Each variant is planned against control with its design share, for the headline's
relative test (engine.experiments.planning): the lift it can detect with the users counted
now and after 7 to 56 days of exposure, and the days of exposure `lift` needs. A metric is
read `window_end` after the last of those exposures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog
from engine.experiments import repository as repo
from engine.experiments.planning import MdeResult, days_needed, minimum_detectable_effect
from engine.experiments.results import MetricData, build_arms
from engine.experiments.schemas import ExperimentPlan, PlanHorizon, PlanVariant
from engine.experiments.service import find_experiment
from engine.experiments.sums import group_sums

HORIZONS = (7, 14, 28, 56)  # days of exposure the MDE is shown for


def experiment_plan(
    conn: Connection,
    catalog: Catalog,
    key: str,
    now: datetime,
    *,
    lift: float = 0.1,
    power: float = 0.8,
    alpha: float = 0.05,
) -> ExperimentPlan:
    """MDE now and by horizon, and days needed for `lift`, per variant against control."""
    experiment = find_experiment(catalog, key).experiment
    metric = experiment.metric
    groups = group_sums(repo.consistent(conn), key, [metric], [now - metric.window_end])
    variants = list(experiment.variants)
    users = {group: sums.eligible[0] for group, sums in groups.items()}
    values = {group: sums.sums[0] for group, sums in groups.items()}
    arms, _ = build_arms(MetricData(metric, "primary", users, values), variants)
    exposed = sum(sums.exposed for sums in groups.values())
    firsts = [s.first_exposed_at for s in groups.values() if s.first_exposed_at is not None]
    running = max((now - min(firsts)) / timedelta(days=1), 1.0) if firsts else 0.0
    daily = exposed / running if running else 0.0
    control = arms[experiment.control]
    counted = sum(arm.users for arm in arms.values())
    mean = metric.measure == "mean"
    baseline = control.mean if control.users >= 2 else None
    variance = control.variance if mean and baseline is not None else None

    def shares(name: str) -> tuple[float, float]:
        return experiment.variants[experiment.control] / 100, experiment.variants[name] / 100

    design = Traffic(daily, running, counted, alpha, power)
    plans = [
        _plan_variant(design, baseline, variance, shares(name), lift, name) for name in variants[1:]
    ]
    return ExperimentPlan(
        experiment=key,
        metric=metric.label,
        measure=metric.measure,
        window_days=metric.window_end / timedelta(days=1),
        test="relative",
        lift=lift,
        power=power,
        alpha=alpha,
        exposed=exposed,
        running_days=running,
        daily_exposures=daily,
        counted=counted,
        baseline=baseline,
        variance=variance,
        variants=plans,
        computed_at=now,
    )


@dataclass(frozen=True)
class Traffic:
    """What the experiment has seen: exposures per day, days running, profiles counted."""

    daily: float
    running: float
    counted: int
    alpha: float
    power: float


def _plan_variant(
    traffic: Traffic,
    baseline: float | None,
    variance: float | None,
    shares: tuple[float, float],
    lift: float,
    name: str,
) -> PlanVariant:
    if baseline is None:
        return PlanVariant(variant=name, reason="no_baseline")
    control_share, variant_share = shares
    alpha, power = traffic.alpha, traffic.power

    def mde(users: float, days: float) -> MdeResult:
        return minimum_detectable_effect(
            users,
            days,
            baseline,
            variance=variance,
            control_share=control_share,
            variant_share=variant_share,
            alpha=alpha,
            power=power,
        )

    now = mde(traffic.counted, 1)
    needed = days_needed(
        traffic.daily,
        baseline,
        lift,
        variance=variance,
        control_share=control_share,
        variant_share=variant_share,
        alpha=alpha,
        power=power,
    )
    return PlanVariant(
        variant=name,
        mde_now=now.relative,
        horizons=[
            PlanHorizon(days=d, users=found.users, mde=found.relative)
            for d in HORIZONS
            for found in [mde(traffic.daily, d)]
        ],
        days_needed=needed.days,
        users_needed=needed.users,
        days_remaining=max(0, needed.days - int(traffic.running)) if needed.days else None,
        reason=needed.reason or now.reason,
    )
