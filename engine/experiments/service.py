"""Experiments in the engine: sticky assignment, exposure events, the global holdout, results.

What the flow runtime calls, inside its own transaction (nothing here commits):

    assign(conn, experiment, *, profile_id, user_id, now, holdout=None) -> Assignment
        The profile's variant in `experiment`. The first call stores it with the exposure
        time (and the profile's persona) and records an internal `experiment_exposed` event;
        every later call returns the stored row, whatever the definition has become since:
        changed weights, added variants and a changed salt never move an exposed profile.
        With `holdout` (the catalog's GlobalHoldout), a profile the global holdout holds out
        is not assigned to `experiment`: the holdout's own assignment comes back instead
        (experiment = the holdout key, holdout=True).
        `Assignment.holdout` is True when the profile must receive nothing: it is in the
        control of an experiment declared `holdout: true`, or in the global holdout.

    assign_global_holdout(conn, holdout, *, profile_id, user_id, now) -> Assignment
        The same for the global holdout alone; call it when a profile would enter any
        onboarding flow, and run no flow when `.holdout` is True. Exposing both arms at the
        same moment is what makes the comparison fair.

    in_global_holdout(catalog, *, profile_id, user_id) -> bool
        A pure preview of the same split (no database); see engine.experiments.assignment.

The read side (list, one assignment, results) serves the API and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from engine.catalog.catalog import Catalog
from engine.catalog.definitions import Experiment, GlobalHoldout
from engine.catalog.internal_events import EXPERIMENT_EXPOSED
from engine.catalog.metrics import Metric
from engine.errors import NotFound
from engine.experiments import outcomes
from engine.experiments import repository as repo
from engine.experiments.assignment import (
    choose,
    in_global_holdout,
    is_holdout_variant,
    subject_of,
)
from engine.experiments.covariates import with_covariates
from engine.experiments.health import RULE, mixed_exposures
from engine.experiments.results import MetricData, adjust_across_metrics, metric_results
from engine.experiments.schemas import (
    AssignmentPublic,
    ExperimentList,
    ExperimentPublic,
    ExperimentResults,
    ExposurePublic,
    HealthPublic,
    ResultSettings,
    SrmPublic,
    VariantWeight,
)
from engine.experiments.srm import srm_test
from engine.experiments.sums import Group, GroupSums, group_sums
from engine.profiles.repository import find_profile_id
from engine.store.bulk import BulkWriter
from engine.store.events import insert_events

__all__ = [
    "Assignment",
    "KnownExperiment",
    "assign",
    "assign_global_holdout",
    "experiment_results",
    "find_experiment",
    "get_assignment",
    "in_global_holdout",
    "known_experiments",
    "list_experiments",
]

EXPOSED_EVENT = EXPERIMENT_EXPOSED


@dataclass(frozen=True)
class Assignment:
    """A profile's variant; `is_new` on its first exposure, `holdout` if it gets nothing."""

    experiment: str
    variant: str
    exposed_at: datetime
    is_new: bool
    holdout: bool
    bucket: int


@dataclass(frozen=True)
class KnownExperiment:
    """An experiment the live content defines, and the flow that declares it."""

    experiment: Experiment
    flow: str | None  # None for the global holdout

    @property
    def global_holdout(self) -> bool:
        return self.flow is None


def assign(
    conn: Connection,
    experiment: Experiment,
    *,
    profile_id: int,
    user_id: str | None,
    now: datetime,
    holdout: GlobalHoldout | None = None,
) -> Assignment:
    """The profile's sticky variant (see the module docstring)."""
    if holdout is not None:
        outer = assign_global_holdout(
            conn, holdout, profile_id=profile_id, user_id=user_id, now=now
        )
        if outer.holdout:
            return outer
    return _assign(conn, experiment, profile_id, user_id, now)


def assign_global_holdout(
    conn: Connection,
    holdout: GlobalHoldout,
    *,
    profile_id: int,
    user_id: str | None,
    now: datetime,
) -> Assignment:
    """The profile's sticky side of the global holdout; `.holdout` means no onboarding."""
    return _assign(conn, holdout.experiment, profile_id, user_id, now)


def _assign(
    conn: Connection, experiment: Experiment, profile_id: int, user_id: str | None, now: datetime
) -> Assignment:
    key = experiment.key
    stored = repo.find_assignment(conn, key, profile_id)
    if stored is None:
        variant, bucket = choose(experiment, subject_of(profile_id, user_id))
        if repo.insert_assignment(conn, key, profile_id, variant, bucket, now):
            _record_exposure(conn, key, variant, profile_id, user_id, now)
            holdout = is_holdout_variant(experiment, variant)
            return Assignment(key, variant, now, True, holdout, bucket)
        stored = repo.find_assignment(conn, key, profile_id)  # a concurrent first exposure won
        assert stored is not None
    holdout = is_holdout_variant(experiment, stored.variant)
    return Assignment(key, stored.variant, stored.exposed_at, False, holdout, stored.bucket)


def _record_exposure(
    conn: Connection, key: str, variant: str, profile_id: int, user_id: str | None, now: datetime
) -> None:
    """The internal event flows, webhooks and exports see. Its messageId names the
    (profile, experiment) pair, so a profile's exposure can never be recorded twice."""
    writer = BulkWriter(conn)
    row: tuple[Any, ...] = (
        f"parcours:{EXPOSED_EVENT}:{profile_id}:{key}",
        profile_id,
        "internal",
        EXPOSED_EVENT,
        user_id,
        None,
        writer.json({"experiment": key, "variant": variant}),
        writer.json({"library": {"name": "parcours"}}),
        writer.time(now),
        writer.time(now),
        None,
        writer.time(now),
    )
    insert_events(writer, [row])


def known_experiments(catalog: Catalog) -> dict[str, KnownExperiment]:
    """Every experiment of the live content by key: flows' experiments, the global holdout."""
    found = {
        flow.experiment.key: KnownExperiment(flow.experiment, name)
        for name, flow in catalog.flows.items()
        if flow.experiment is not None
    }
    if catalog.holdout is not None:
        found[catalog.holdout.holdout] = KnownExperiment(catalog.holdout.experiment, None)
    return found


def find_experiment(catalog: Catalog, key: str) -> KnownExperiment:
    known = known_experiments(catalog).get(key)
    if known is None:
        raise NotFound(f"no experiment {key!r} in the live content")
    return known


def list_experiments(conn: Connection, catalog: Catalog) -> ExperimentList:
    """Every experiment with its weights and how many profiles each variant has exposed."""
    known = known_experiments(catalog)
    rows = repo.exposures(conn, list(known)) if known else []
    data = []
    for key, entry in known.items():
        mine = [row for row in rows if row.experiment == key]
        users = {row.variant: row.users for row in mine}
        weights: dict[str, int | None] = dict(entry.experiment.variants)
        weights.update({v: None for v in users if v not in weights})
        firsts = [row.first_exposed_at for row in mine if row.first_exposed_at is not None]
        lasts = [row.last_exposed_at for row in mine if row.last_exposed_at is not None]
        data.append(
            ExperimentPublic(
                key=key,
                flow=entry.flow,
                global_holdout=entry.global_holdout,
                holdout=entry.experiment.holdout,
                control=entry.experiment.control,
                metric=entry.experiment.metric.label,
                variants=[
                    VariantWeight(variant=v, weight=w, users=users.get(v, 0))
                    for v, w in weights.items()
                ],
                exposed=sum(users.values()),
                first_exposed_at=min(firsts, default=None),
                last_exposed_at=max(lasts, default=None),
            )
        )
    return ExperimentList(data=data)


def get_assignment(conn: Connection, catalog: Catalog, key: str, user_id: str) -> AssignmentPublic:
    """A user's stored assignment: 404 for an unknown experiment, user or exposure."""
    entry = find_experiment(catalog, key)
    profile_id = find_profile_id(conn, user_id)
    if profile_id is None:
        raise NotFound(f"no profile for user id {user_id!r}")
    stored = repo.find_assignment(conn, key, profile_id)
    if stored is None:
        raise NotFound(
            f"user {user_id!r} has not been exposed to experiment {key!r}", code="not_assigned"
        )
    return AssignmentPublic(
        experiment=key,
        user_id=user_id,
        variant=stored.variant,
        holdout=is_holdout_variant(entry.experiment, stored.variant),
        bucket=stored.bucket,
        exposed_at=stored.exposed_at,
    )


def experiment_results(
    conn: Connection,
    catalog: Catalog,
    key: str,
    now: datetime,
    *,
    include_in_progress: bool = False,
    alpha: float = 0.05,
) -> ExperimentResults:
    """Every metric of an experiment, compared with control, overall and per persona.

    A profile counts in a metric once the metric's window has closed (`include_in_progress`
    counts everyone exposed so far, with what they have done yet). One scan counts the
    population of every metric; the metrics' sums, and their CUPED covariates' (engine.
    experiments.covariates), are the folded outcomes plus the tail not folded yet
    (engine.experiments.sums).
    """
    entry = find_experiment(catalog, key)
    experiment = entry.experiment
    metrics = _metrics_of(experiment)
    parts = with_covariates(m for m, _ in metrics)
    cutoffs = [now if include_in_progress else now - m.window_end for m in parts]
    groups = group_sums(repo.consistent(conn), key, parts, cutoffs)
    variants = [*experiment.variants, *sorted({v for v, _ in groups} - {*experiment.variants})]
    sections = []
    for index, (metric, role) in enumerate(metrics):
        y, x, xy = 3 * index, 3 * index + 1, 3 * index + 2
        users = {group: sums.eligible[y] for group, sums in groups.items()}
        values = {group: sums.sums[y] for group, sums in groups.items()}
        covariate = {g: (*s.sums[x], s.sums[xy][0]) for g, s in groups.items()}
        data = MetricData(metric, role, users, values, covariate)
        sections.append(metric_results(data, experiment, variants, alpha=alpha))
    sections = adjust_across_metrics(sections, experiment.metric_correction)
    exposures = _exposures(experiment, groups, variants)
    srm = srm_test([e.users for e in exposures], [float(e.weight or 0) for e in exposures])
    return ExperimentResults(
        **sections[0].model_dump(exclude_unset=True),
        experiment=key,
        flow=entry.flow,
        global_holdout=entry.global_holdout,
        holdout=experiment.holdout,
        exposed=sum(e.users for e in exposures),
        exposures=exposures,
        exposure_srm=SrmPublic(p_value=srm.p_value, reason=srm.reason, warning=srm.warning),
        health=_health(conn, key, sum(e.users for e in exposures)),
        secondary=[s for s in sections if s.role == "secondary"],
        guardrails=[s for s in sections if s.role == "guardrail"],
        settings=ResultSettings(
            alpha=alpha,
            segment_correction="holm",
            metric_correction=experiment.metric_correction,
            include_in_progress=include_in_progress,
        ),
        computed_at=now,
    )


def _health(conn: Connection, key: str, exposed: int) -> HealthPublic:
    mixed = mixed_exposures(repo.mixed_counts(conn, key), exposed)
    return HealthPublic(
        mixed_exposures=mixed.profiles,
        mixed_by_variant=dict(mixed.by_variant),
        mixed_share=mixed.share,
        mixed_rule=RULE,
        mixed_warning=mixed.warning,
    )


def fold_experiments(engine: Engine, catalog: Catalog, now: datetime) -> None:
    """Fold the matured outcomes of every experiment of the live content (a worker job),
    each metric in its own transaction."""
    for key, entry in known_experiments(catalog).items():
        parts = with_covariates(entry.experiment.metrics)
        outcomes.fold_experiment(engine, key, parts, now)


def _metrics_of(experiment: Experiment) -> list[tuple[Metric, str]]:
    return [
        (experiment.metric, "primary"),
        *((metric, "secondary") for metric in experiment.secondary),
        *((metric, "guardrail") for metric in experiment.guardrails),
    ]


def _exposures(
    experiment: Experiment, groups: dict[Group, GroupSums], variants: list[str]
) -> list[ExposurePublic]:
    out = []
    for variant in variants:
        rows = [row for (v, _), row in groups.items() if v == variant]
        firsts = [row.first_exposed_at for row in rows if row.first_exposed_at is not None]
        lasts = [row.last_exposed_at for row in rows if row.last_exposed_at is not None]
        out.append(
            ExposurePublic(
                variant=variant,
                weight=experiment.variants.get(variant),
                users=sum(row.exposed for row in rows),
                first_exposed_at=min(firsts, default=None),
                last_exposed_at=max(lasts, default=None),
            )
        )
    return out
