"""When date conditions flip, so the periodic job finds those profiles however long ago
they were last active ("the trial ends in 3 days", a month after the last visit).

A date condition changes with no event at all, at moments its trait fixes: the ends of
its window (`engine.audience.dates`). When an identify writes a trait some date condition
reads (or the profile's `timezone`), the next such moment of that trait's conditions is
stored per (profile, trait) in `date_reevaluations`; when it comes, the periodic job claims
the row, re-evaluates the profile as time passing would, and stores the moment after.
The work per identify is bounded by the date conditions reading the traits it set,
whatever the profile's history and however many flows there are. A date condition new to
the content is planned for the existing profiles once, by the job (`plan_new_conditions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection

from engine.audience import repository as repo
from engine.audience.dates import next_flip, profile_zone
from engine.audience.evaluate import lookup
from engine.audience.service import ProfileChange
from engine.audience.tasks import TIME_PASSED
from engine.catalog.catalog import Catalog
from engine.catalog.conditions import Condition, TraitCondition
from engine.catalog.dependencies import walk
from engine.store.bulk import BulkWriter

DateConditions = Mapping[str, tuple[TraitCondition, ...]]


@lru_cache(maxsize=8)
def date_conditions(catalog: Catalog) -> DateConditions:
    """The date conditions of stages, segments and flow goals and exits (what can change
    with no event and no run waking), by the top-level trait they read."""
    conditions: list[Condition] = [s.when for s in catalog.stages]
    conditions += [s.when for s in catalog.segments.values()]
    for flow in catalog.flows.values():
        conditions += [flow.goal.condition] if flow.goal is not None else []
        conditions += [flow.exit_when] if flow.exit_when is not None else []
    found: dict[str, list[TraitCondition]] = {}
    for condition in conditions:
        for _, node in walk(condition):
            if isinstance(node, TraitCondition) and node.reads_date:
                found.setdefault(node.trait.split(".")[0], []).append(node)
    return {key: tuple(nodes) for key, nodes in found.items()}


@lru_cache(maxsize=8)
def condition_hashes(catalog: Catalog) -> Mapping[str, str]:
    """Each date condition of the catalog by a hash of what fixes its moments (the default
    zone included: changing it moves date-only values), to its top-level trait key."""
    zone = catalog.default_timezone
    return {
        sha256(f"{node.trait}|{name}|{offset.total_seconds()}|{zone}".encode()).hexdigest(): key
        for key, nodes in date_conditions(catalog).items()
        for node in nodes
        for name, offset in [node.operator]
    }


def plan_new_conditions(conn: Connection, catalog: Catalog, now: datetime) -> None:
    """Date conditions new to the content apply to existing profiles at once: those holding
    their traits are made due now (the periodic job then evaluates and reschedules them)."""
    current = condition_hashes(catalog)
    planned = repo.planned_date_conditions(conn)
    if planned == set(current):
        return
    added = {h: key for h, key in current.items() if h not in planned}
    repo.plan_date_conditions(conn, added, planned - set(current), now)


def schedule_changes(
    conn: Connection, catalog: Catalog, changes: Mapping[int, ProfileChange]
) -> None:
    """Store when the date conditions on the traits these changes set next flip."""
    by_trait = date_conditions(catalog)
    wanted = [
        (pid, key, change.at) for pid, change in changes.items() for key in _set(change, by_trait)
    ]
    if not wanted:
        return
    traits = repo.profile_traits(conn, {pid for pid, _, _ in wanted})
    due = _next_moments(catalog, by_trait, traits, wanted)
    kept = {(pid, key) for pid, key, _ in due}
    gone = [(pid, key) for pid, key, _ in wanted if (pid, key) not in kept]
    repo.set_date_reevaluations(BulkWriter(conn), due, gone, overwrite=True)


def due_changes(
    conn: Connection, catalog: Catalog, now: datetime, limit: int
) -> dict[int, ProfileChange]:
    """Claim up to `limit` due (profile, trait) rows, store each one's next moment, and
    return their profiles as time-passed changes for `apply_changes`."""
    writer = BulkWriter(conn)
    claimed = repo.claim_date_reevaluations(writer, now, limit)
    if not claimed:
        return {}
    traits = repo.profile_traits(conn, {pid for pid, _ in claimed})
    wanted = [(pid, key, now) for pid, key in claimed]
    due = _next_moments(catalog, date_conditions(catalog), traits, wanted)
    repo.set_date_reevaluations(writer, due, overwrite=False)
    return {pid: ProfileChange(now, TIME_PASSED) for pid, _ in claimed if pid in traits}


def _set(change: ProfileChange, by_trait: DateConditions) -> frozenset[str]:
    """The date traits whose moments a change may move: those it set, every one when it
    set the `timezone` (date-only values move with it) or may have changed anything."""
    if change.dependencies is None or "timezone" in change.dependencies.trait_keys:
        return frozenset(by_trait)
    return change.dependencies.trait_keys & by_trait.keys()


def _next_moments(
    catalog: Catalog,
    by_trait: DateConditions,
    traits: Mapping[int, Mapping[str, Any]],
    wanted: Iterable[tuple[int, str, datetime]],
) -> list[tuple[int, str, datetime]]:
    """(profile, trait, due) for each wanted (profile, trait, after) with a moment to come."""
    rows = []
    for pid, key, after in wanted:
        values = traits.get(pid)
        if values is None:  # erased meanwhile
            continue
        zone = profile_zone(values, catalog.default_timezone)
        flips = [
            flip
            for node in by_trait.get(key, ())
            if (flip := next_flip(node, lookup(values, node.trait), zone, after)) is not None
        ]
        if flips:
            rows.append((pid, key, min(flips)))
    return rows
