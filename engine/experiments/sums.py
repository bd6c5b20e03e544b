"""Per-group metric sums for results: folded sums plus the live tail.

Results never read per-profile rows into Python: each query returns one row per (variant,
persona at exposure) with COUNT/SUM aggregates, the sufficient statistics that
engine.experiments.arms.ArmStats takes. For each metric:

    Σ over the profiles exposed by the cutoff = folded sums (engine.experiments.outcomes)
                                              + live sums of the tail not folded yet

When every cutoff is at or after its metric's fold (always so for results), the folded part
is a few rollup rows, and results cost about as much as the tail, however many profiles
were exposed. An earlier cutoff (the cumulative lift's days) reads the stored per-profile
values and the assignments instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, literal, select, union

from engine.catalog.metrics import StageMetric
from engine.experiments import outcomes
from engine.experiments import repository as repo
from engine.experiments.covariates import Covariate, Measured

Group = tuple[str, str | None]  # (variant, persona at exposure)


@dataclass(frozen=True)
class GroupSums:
    """One (variant, persona) group: its exposures, and per metric the eligible profiles
    (exposed before the metric's cutoff) and Σy, Σy² over them."""

    exposed: int
    first_exposed_at: datetime | None
    last_exposed_at: datetime | None
    eligible: tuple[int, ...]
    sums: tuple[tuple[float, float], ...]


@dataclass
class _Running:
    """One group's sums being added up from folded and live parts."""

    eligible: list[int]
    sums: list[list[float]]
    exposed: int = 0
    first: datetime | None = None
    last: datetime | None = None


class _Totals:
    """GroupSums being added up from folded and live parts."""

    def __init__(self, metrics: int) -> None:
        self.metrics = metrics
        self.groups: dict[Group, _Running] = {}

    def group(self, group: Group) -> _Running:
        if group not in self.groups:
            sums = [[0.0, 0.0] for _ in range(self.metrics)]
            self.groups[group] = _Running([0] * self.metrics, sums)
        return self.groups[group]

    def expose(self, group: Group, users: int, first: datetime, last: datetime) -> None:
        g = self.group(group)
        g.exposed += users
        g.first = first if g.first is None else min(g.first, first)
        g.last = last if g.last is None else max(g.last, last)

    def add(self, group: Group, position: int, users: int, total: float, squares: float) -> None:
        g = self.group(group)
        g.eligible[position] += users
        g.sums[position][0] += total
        g.sums[position][1] += squares

    def result(self) -> dict[Group, GroupSums]:
        return {
            group: GroupSums(
                g.exposed, g.first, g.last, tuple(g.eligible), tuple((s, q) for s, q in g.sums)
            )
            for group, g in self.groups.items()
            if g.exposed
        }


def group_sums(
    conn: Connection, key: str, metrics: Sequence[Measured], cutoffs: Sequence[datetime]
) -> dict[Group, GroupSums]:
    """Every metric's sufficient statistics per group, each metric counting the profiles
    exposed by its cutoff. The same metric may come several times with different cutoffs
    (the cumulative lift): each distinct metric is computed once."""
    keys = [outcomes.metric_key(m) for m in metrics]
    done = outcomes.folded_until(conn, key, {*keys, outcomes.EXPOSURES})
    queued = outcomes.refolding(conn, key) if done else {}
    totals = _Totals(len(metrics))
    rolled = outcomes.EXPOSURES in done and all(
        k in done and c >= done[k] for k, c in zip(keys, cutoffs, strict=True)
    )
    if rolled:
        _add_rollups(conn, totals, key, keys)
        tail = outcomes.tail(done[outcomes.EXPOSURES], queued.get(outcomes.EXPOSURES, []))
        _add_population(conn, totals, key, [], [], tail)
    else:
        _add_population(conn, totals, key, cutoffs, range(len(metrics)), None)
        if done:
            _add_pairs(totals, outcomes.folded_sums(conn, key, keys, cutoffs), range(len(keys)))
    tails = {}
    for mkey in dict.fromkeys(keys):
        at = [i for i, k in enumerate(keys) if k == mkey]
        tail = outcomes.tail(done.get(mkey), queued.get(mkey, []))
        tails[mkey] = tail & (repo.assignments.c.exposed_at <= max(cutoffs[i] for i in at))
        if rolled:
            mine = [cutoffs[i] for i in at]
            _add_population(conn, totals, key, mine, at, tails[mkey], count_exposures=False)
    _add_live_values(conn, totals, key, metrics, cutoffs, keys, tails, done)
    return totals.result()


def _add_live_values(
    conn: Connection,
    totals: _Totals,
    key: str,
    metrics: Sequence[Measured],
    cutoffs: Sequence[datetime],
    keys: Sequence[str],
    tails: dict[str, ColumnElement[bool]],
    done: dict[str, datetime],
) -> None:
    """The tails' values: one query per stage metric and covariate part, one for every
    event metric (over every exposure when one of them is not folded at all)."""
    stage = {
        k: m for k, m in zip(keys, metrics, strict=True) if isinstance(m, StageMetric | Covariate)
    }
    for mkey, metric in stage.items():
        at = [i for i, k in enumerate(keys) if k == mkey]
        values = repo.profile_values(key, metric, tails[mkey])
        _add_sums(conn, totals, repo.value_sums(values, [cutoffs[i] for i in at]), at)
    chosen = {
        k: m
        for k, m in zip(keys, metrics, strict=True)
        if not isinstance(m, StageMetric | Covariate)
    }
    if not chosen:
        return
    order = list(chosen)
    pairs = [(chosen[k], tails[k]) for k in order]
    bounded = all(k in done for k in order)
    where = _in_any(key, [tails[k] for k in order]) if bounded else literal(True)
    values = repo.event_values(key, pairs, where)
    at = [i for i, k in enumerate(keys) if k in chosen]
    columns = [f"y{order.index(keys[i])}" for i in at]
    _add_sums(conn, totals, repo.value_sums(values, [cutoffs[i] for i in at], None, columns), at)


def _in_any(key: str, tails: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Profiles in any of the tails, as one indexable set: an OR of exposure ranges would
    scan every assignment, a single range covering them all could span weeks."""
    a = repo.assignments
    arms = [select(a.c.profile_id).where(a.c.experiment == key, tail) for tail in tails]
    found = union(*arms).subquery()
    inside: ColumnElement[bool] = a.c.profile_id.in_(select(found.c.profile_id))
    return inside


def _add_sums(
    conn: Connection, totals: _Totals, query: Select[Any], positions: Sequence[int]
) -> None:
    _add_pairs(totals, outcomes.sums_by_group(conn, query), positions)


def _add_pairs(totals: _Totals, found: outcomes.Sums, positions: Sequence[int]) -> None:
    for group, pairs in found.items():
        for position, (total, squares) in zip(positions, pairs, strict=True):
            totals.add(group, position, 0, total, squares)


def _add_rollups(conn: Connection, totals: _Totals, key: str, keys: Sequence[str]) -> None:
    for row in outcomes.rollup_rows(conn, key, set(keys)):
        group = (row["variant"], row["persona"] or None)
        if row["metric"] == outcomes.EXPOSURES:
            if row["users"]:
                totals.expose(group, row["users"], row["first_exposed_at"], row["last_exposed_at"])
            continue
        for position, mkey in enumerate(keys):
            if mkey == row["metric"]:
                totals.add(group, position, row["users"], row["total"], row["squares"])


def _add_population(
    conn: Connection,
    totals: _Totals,
    key: str,
    cutoffs: Sequence[datetime],
    positions: Sequence[int],
    where: ColumnElement[bool] | None,
    *,
    count_exposures: bool = True,
) -> None:
    for row in repo.population(conn, key, cutoffs, where):
        group = (row[0], row[1])
        if count_exposures:
            totals.expose(group, int(row[2]), row[3], row[4])
        for position, eligible in zip(positions, row[5:], strict=True):
            totals.add(group, position, int(eligible or 0), 0.0, 0.0)
