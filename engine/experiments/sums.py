"""Per-group metric sums for results: folded outcomes plus the live tail.

Results never read per-profile rows into Python: each query returns one row per (variant,
persona at exposure) with COUNT/SUM aggregates, the sufficient statistics that
engine.experiments.arms.ArmStats takes. For each metric:

    Σ over the profiles exposed by the cutoff = folded values (one narrow table)
                                              + live values of the tail not folded yet

so results cost about one scan of the assignments and one of the stored outcomes, however
long the history behind them (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from engine.catalog.metrics import Metric
from engine.experiments import outcomes
from engine.experiments import repository as repo

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


def group_sums(
    conn: Connection, key: str, metrics: Sequence[Metric], cutoffs: Sequence[datetime]
) -> dict[Group, GroupSums]:
    """Every metric's sufficient statistics per group, each metric counting the profiles
    exposed by its cutoff. The same metric may come several times with different cutoffs
    (the cumulative lift): each distinct metric is computed once."""
    keys = [outcomes.metric_key(m) for m in metrics]
    done = outcomes.folded_until(conn, key, set(keys))
    queued = outcomes.refolding(conn, key) if done else []
    totals: dict[Group, list[list[float]]] = defaultdict(lambda: [[0.0, 0.0] for _ in metrics])
    if done:
        folded = outcomes.folded_sums(conn, key, keys, cutoffs)
        _add(totals, folded, range(len(metrics)))
    for mkey in dict.fromkeys(keys):
        at = [i for i, k in enumerate(keys) if k == mkey]
        where = outcomes.tail(done.get(mkey), queued)
        mine = [cutoffs[i] for i in at]
        where &= repo.assignments.c.exposed_at <= max(mine)
        live = repo.value_sums(repo.profile_values(key, metrics[at[0]], where), mine)
        _add(totals, outcomes.sums_by_group(conn, live), at)
    out = {}
    for row in repo.population(conn, key, cutoffs):
        group = (row[0], row[1])
        sums = tuple((s, q) for s, q in totals.get(group, [[0.0, 0.0] for _ in metrics]))
        eligible = tuple(int(n or 0) for n in row[5:])
        out[group] = GroupSums(int(row[2]), row[3], row[4], eligible, sums)
    return out


def _add(
    totals: dict[Group, list[list[float]]], found: outcomes.Sums, positions: Sequence[int]
) -> None:
    for group, pairs in found.items():
        for position, (total, squares) in zip(positions, pairs, strict=True):
            totals[group][position][0] += total
            totals[group][position][1] += squares
