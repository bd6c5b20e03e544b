"""Keep stage entries and persona memberships current as profiles change.

Runs inside the caller's transaction (the ingestion batch, or a periodic job), so an
event and the stage it completes are committed together. Only conditions that read what
changed are evaluated, and only the events those conditions name are loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from engine.audience import repository as repo
from engine.audience.evaluate import AudienceUpdate, ProfileFacts, update_audience
from engine.catalog.catalog import Catalog
from engine.catalog.dependencies import Dependencies, dependencies
from engine.catalog.internal_events import SEGMENT_ENTERED, SEGMENT_EXITED, STAGE_ENTERED
from engine.ml.scoring import model_dependencies, model_uses
from engine.store.bulk import BulkWriter
from engine.store.events import insert_events


@dataclass(frozen=True)
class ProfileChange:
    """What a batch changed about one profile; `dependencies=None` means re-evaluate all."""

    at: datetime
    dependencies: Dependencies | None


@dataclass
class AudienceResult:
    stages_entered: int = 0
    segments_entered: int = 0
    segments_exited: int = 0
    # (profile id, internal event name, properties): what flows can trigger on
    occurrences: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


@lru_cache(maxsize=8)
def audience_dependencies(catalog: Catalog) -> Dependencies:
    """Everything any stage or segment condition reads, and what the models they use read."""
    found = model_dependencies(model_uses(catalog))
    for condition in [s.when for s in catalog.stages] + [s.when for s in catalog.segments.values()]:
        found |= dependencies(condition)
    return found


def apply_changes(
    conn: Connection, catalog: Catalog, changes: Mapping[int, ProfileChange], now: datetime
) -> AudienceResult:
    """Evaluate the affected profiles and record entries, memberships and internal events."""
    reads = audience_dependencies(catalog)
    affected = {
        pid: change
        for pid, change in changes.items()
        if change.dependencies is None or change.dependencies.overlaps(reads)
    }
    result = AudienceResult()
    if not affected:
        return result
    stored = repo.load_audience(conn, affected.keys(), reads.event_names)
    writes = _Writes()
    for pid, change in affected.items():
        profile = stored.get(pid)
        if profile is None:  # erased meanwhile
            continue
        update = update_audience(
            catalog, _facts(profile, catalog.default_timezone), change.at, change.dependencies
        )
        writes.add(pid, profile, update, change.at)
    writes.apply(conn, now, result)
    return result


def _facts(profile: repo.StoredAudience, default_timezone: str) -> ProfileFacts:
    return ProfileFacts(
        traits=profile.traits,
        events=profile.events,
        stage_entries=profile.stage_entries,
        segments=frozenset(profile.active_segments),
        signup_at=profile.stage_entries.get("signup", profile.first_seen_at),
        default_timezone=default_timezone,
    )


class _Writes:
    """The rows one evaluation pass writes, gathered so each kind is one statement."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.new_members: list[dict[str, Any]] = []
        self.back_members: list[dict[str, Any]] = []
        self.exits: list[dict[str, Any]] = []
        self.personas: dict[int, str | None] = {}
        self.internal: list[_Internal] = []

    def add(
        self, pid: int, profile: repo.StoredAudience, update: AudienceUpdate, at: datetime
    ) -> None:
        uid = profile.user_id
        for stage, entered_at in update.entered_stages.items():
            self.entries.append({"profile_id": pid, "stage": stage, "entered_at": entered_at})
            self.internal.append(_Internal(pid, uid, STAGE_ENTERED, "stage", stage, "once", at))
        for segment in sorted(update.entered_segments):
            times = profile.known_segments.get(segment, 0) + 1
            if times > 1:
                self.back_members.append({"pid": pid, "seg": segment, "at": at, "n": times})
            else:
                self.new_members.append({"profile_id": pid, "segment": segment, "entered_at": at})
            self.internal.append(
                _Internal(pid, uid, SEGMENT_ENTERED, "segment", segment, str(times), at)
            )
        for segment in sorted(update.exited_segments):
            times = profile.known_segments[segment]
            self.exits.append({"pid": pid, "seg": segment, "at": at})
            self.internal.append(
                _Internal(pid, uid, SEGMENT_EXITED, "segment", segment, str(times), at)
            )
        if update.primary_persona != profile.persona:
            self.personas[pid] = update.primary_persona

    def apply(self, conn: Connection, now: datetime, result: AudienceResult) -> None:
        repo.insert_stage_entries(conn, self.entries)
        repo.enter_segments(conn, self.new_members, self.back_members)
        repo.exit_segments(conn, self.exits)
        repo.set_personas(conn, self.personas)
        writer = BulkWriter(conn)
        insert_events(writer, [item.row(writer, now) for item in self.internal])
        result.stages_entered += len(self.entries)
        result.segments_entered += len(self.new_members) + len(self.back_members)
        result.segments_exited += len(self.exits)
        result.occurrences += [(i.pid, i.name, {i.key: i.subject}) for i in self.internal]


@dataclass(frozen=True)
class _Internal:
    """An event Parcours records itself, so flows can trigger on stage and segment changes.

    Its messageId names the occurrence (a stage is entered once; a segment's nth entry and
    the exit that ends it), so the same change can never be recorded twice, and changes
    that share an instant still differ.
    """

    pid: int
    user_id: str | None
    name: str
    key: str  # "stage" or "segment"
    subject: str
    occurrence: str
    at: datetime

    def row(self, writer: BulkWriter, now: datetime) -> tuple[Any, ...]:
        return (
            f"parcours:{self.name}:{self.pid}:{self.subject}:{self.occurrence}",
            self.pid,
            "internal",
            self.name,
            self.user_id,
            None,
            writer.json({self.key: self.subject}),
            writer.json({"library": {"name": "parcours"}}),
            writer.time(self.at),
            writer.time(self.at),
            None,
            writer.time(now),
        )
