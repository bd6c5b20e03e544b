"""Page data of an experiment: the results document and the cumulative lift over time.

The results are `engine.experiments.service.experiment_results`, the same document as the
API and the CLI. The cumulative lift answers "has the lift settled?": for each day, the
primary metric recomputed over the profiles exposed up to the end of that day, each measured
over its whole window. All days come from one aggregate statement: `group_sums` takes one
cutoff per metric, so the primary metric repeated with one cutoff per day gives every day's
per-variant sums at once (folded outcomes plus the live tail), and the pure statistics turn
each day's sums into a lift and its confidence interval. Only profiles whose window has
closed count (unless in-progress data is asked for), exactly as in the results.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog
from engine.catalog.definitions import Experiment
from engine.experiments import repository as experiments_repo
from engine.experiments.arms import ArmStats
from engine.experiments.plan import experiment_plan
from engine.experiments.results import analysis_options
from engine.experiments.schemas import ExperimentPlan, ExperimentResults
from engine.experiments.service import experiment_results, find_experiment
from engine.experiments.statistics import compare_arms
from engine.experiments.sums import group_sums

MAX_POINTS = 30


@dataclass(frozen=True)
class LiftPoint:
    at: datetime  # profiles exposed up to this time are counted
    users: int
    lift: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class ExperimentPage:
    results: ExperimentResults
    cumulative: dict[str, list[LiftPoint]]  # per variant other than control
    include_in_progress: bool
    plan: ExperimentPlan


def experiment_page(
    conn: Connection, catalog: Catalog, key: str, now: datetime, include_in_progress: bool
) -> ExperimentPage:
    """Results of every metric, the primary metric's lift as exposures accumulated, and
    the plan (detectable lift and days needed for +10%) from the live traffic."""
    results = experiment_results(conn, catalog, key, now, include_in_progress=include_in_progress)
    experiment = find_experiment(catalog, key).experiment
    firsts = [e.first_exposed_at for e in results.exposures if e.first_exposed_at is not None]
    lasts = [e.last_exposed_at for e in results.exposures if e.last_exposed_at is not None]
    horizon = now if include_in_progress else now - experiment.metric.window_end
    cumulative: dict[str, list[LiftPoint]] = {}
    if firsts and lasts:
        cutoffs = day_cutoffs(min(firsts), min(max(lasts), horizon), MAX_POINTS)
        cumulative = cumulative_lift(conn, experiment, cutoffs)
    plan = experiment_plan(conn, catalog, key, now)
    return ExperimentPage(results, cumulative, include_in_progress, plan)


def day_cutoffs(first: datetime, last: datetime, most: int) -> list[datetime]:
    """Ends of days from the day of `first` to `last` (the last cut at `last`), thinned
    evenly to at most `most` points; empty when `last` is before `first`."""
    if last < first:
        return []
    day = first.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    ends = []
    while day < last:
        ends.append(day)
        day += timedelta(days=1)
    ends.append(last)
    if len(ends) <= most:
        return ends
    step = (len(ends) - 1) / (most - 1)
    return [ends[round(i * step)] for i in range(most)]


def cumulative_lift(
    conn: Connection, experiment: Experiment, cutoffs: list[datetime]
) -> dict[str, list[LiftPoint]]:
    """Per variant, the relative lift over control of the profiles exposed by each cutoff."""
    if not cutoffs:
        return {}
    metric = experiment.metric
    groups = group_sums(
        experiments_repo.consistent(conn), experiment.key, [metric] * len(cutoffs), cutoffs
    )
    arms: dict[str, list[list[float]]] = defaultdict(lambda: [[0.0, 0.0, 0.0] for _ in cutoffs])
    for (variant, _persona), sums in groups.items():
        for i, (users, (total, squares)) in enumerate(zip(sums.eligible, sums.sums, strict=True)):
            arm = arms[variant][i]
            arm[0] += users
            arm[1] += total
            arm[2] += squares
    control = experiment.control
    options = analysis_options(experiment, metric, alpha=0.05)
    out: dict[str, list[LiftPoint]] = {}
    for variant in [v for v in experiment.variants if v != control]:
        points = []
        for i, at in enumerate(cutoffs):
            a = _arm(arms[control][i], metric.measure)
            b = _arm(arms[variant][i], metric.measure)
            found = compare_arms(a, b, options, name=variant)
            low, high = found.ci_relative or (None, None)
            # Below the minimum sample a lift is not a finding: the point is left out.
            lift = None if found.reason == "not_enough_data" else found.relative_lift
            points.append(LiftPoint(at, a.users + b.users, lift, low, high))
        out[variant] = points
    return out


def _arm(sums: list[float], measure: str) -> ArmStats:
    users, total, squares = int(sums[0]), sums[1], sums[2]
    if measure == "proportion":
        return ArmStats.from_conversions(users=users, conversions=total)
    return ArmStats(users=users, sum=total, sum_squares=squares)
