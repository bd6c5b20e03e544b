"""The data path, in one transaction: store -> audience -> flow runtime -> webhooks.

    messages ─> ingest.store_messages ─┐
                                       ├─> audience.apply_changes ─> flows.handle_occurrences
    time passed ─> audience.tasks ─────┘   (stages, personas,        (start, wake, end runs;
                  (profiles a window        internal events;          deliveries as rows)
                   may have flipped,        date_traits: when         ─> webhooks.publish
                   date_traits due)         date conditions flip)

Used by the ingestion API, the in-app outcome API, email engagement, the periodic
re-evaluation and the testing kit, so a stage entered because time passed behaves exactly
like one entered by an event. Every event and stage entry metrics read is written here, so
data arriving late inside a folded experiment window is caught here too
(engine.experiments.late).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from engine.audience.date_traits import due_changes, plan_new_conditions, schedule_changes
from engine.audience.service import AudienceResult, ProfileChange, apply_changes
from engine.audience.tasks import PAGE, time_passed
from engine.catalog.catalog import Catalog
from engine.experiments.late import STAGE_ENTRY, Written, refold_late_data, settled
from engine.flows.service import Occurrence, RuntimeResult, handle_occurrences
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.ingest.schemas import AnyMessage
from engine.ingest.service import IngestResult, store_messages
from engine.store.db import write_transaction
from engine.webhooks.service import publish_occurrences


@dataclass(frozen=True)
class PipelineResult:
    ingest: IngestResult
    audience: AudienceResult
    runtime: RuntimeResult


@dataclass
class TimePassedResult:
    """Totals of one periodic re-evaluation, over all its pages."""

    stages_entered: int = 0
    segments_entered: int = 0
    segments_exited: int = 0
    runtime: RuntimeResult = field(default_factory=RuntimeResult)

    def add(self, audience: AudienceResult, runtime: RuntimeResult) -> None:
        self.stages_entered += audience.stages_entered
        self.segments_entered += audience.segments_entered
        self.segments_exited += audience.segments_exited
        self.runtime.started += runtime.started
        self.runtime.resumed += runtime.resumed
        self.runtime.ended += runtime.ended


def process_messages(
    conn: Connection,
    catalog: Catalog,
    messages: list[AnyMessage],
    now: datetime,
    guardrails: Guardrails = NO_GUARDRAILS,
    *,
    identified_merges: bool = True,
) -> PipelineResult:
    """`identified_merges=False` for messages from a public write key (docs/ingestion.md)."""
    ingested = store_messages(conn, messages, now, identified_merges=identified_merges)
    events = [Occurrence(pid, name, properties) for pid, name, properties in ingested.events]
    audience, runtime = _process_changes(
        conn, catalog, ingested.changes, events, ingested.late, ingested.changes, now, guardrails
    )
    return PipelineResult(ingested, audience, runtime)


def process_time_passed(
    engine: Engine, catalog: Catalog, now: datetime, guardrails: Guardrails = NO_GUARDRAILS
) -> TimePassedResult:
    """Re-evaluate the time-relative conditions of every profile that may have flipped, a
    page per transaction, and start, wake and end runs and publish webhooks as an event would:
    the recently active profiles a `within` window may have moved, then those whose date
    conditions are due (`process_due_dates`)."""
    total = TimePassedResult()
    after = 0
    while True:
        with write_transaction(engine) as conn:
            changes = time_passed(conn, catalog, now, after)
            if changes:
                total.add(*_process_changes(conn, catalog, changes, [], [], {}, now, guardrails))
        if not changes:
            return process_due_dates(engine, catalog, now, guardrails, total)
        after = max(changes)


def process_due_dates(
    engine: Engine,
    catalog: Catalog,
    now: datetime,
    guardrails: Guardrails = NO_GUARDRAILS,
    total: TimePassedResult | None = None,
) -> TimePassedResult:
    """Re-evaluate the profiles whose date conditions flip by `now`, however long ago they
    were active, a page per transaction; their runs' goals and exits are checked too."""
    total = total or TimePassedResult()
    with write_transaction(engine) as conn:
        plan_new_conditions(conn, catalog, now)
    while True:
        with write_transaction(engine) as conn:
            changes = due_changes(conn, catalog, now, PAGE)
            if not changes:
                return total
            total.add(*_process_changes(conn, catalog, changes, [], [], changes, now, guardrails))


def _process_changes(
    conn: Connection,
    catalog: Catalog,
    changes: Mapping[int, ProfileChange],
    events: Sequence[Occurrence],
    late_events: Sequence[Written],
    touched: Mapping[int, ProfileChange],
    now: datetime,
    guardrails: Guardrails,
) -> tuple[AudienceResult, RuntimeResult]:
    """Everything after the store: audience, late-data check, flow runtime, webhooks.

    `touched` profiles have their open runs' goals and exits checked even without an
    occurrence (what an identify changed); time passing checks only the profiles it moved.
    """
    audience = apply_changes(conn, catalog, changes, now)
    schedule_changes(conn, catalog, changes)
    late = [*late_events, *_late_audience_rows(changes, audience, settled(now))]
    refold_late_data(conn, catalog, late, now)
    occurrences = [*events, *(Occurrence(*o) for o in audience.occurrences)]
    changed = {pid: change.dependencies for pid, change in touched.items()}
    runtime = handle_occurrences(conn, catalog, occurrences, now, changed, guardrails)
    publish_occurrences(conn, catalog, audience.occurrences, now)
    return audience, runtime


def _late_audience_rows(
    changes: Mapping[int, ProfileChange], audience: AudienceResult, bound: datetime
) -> list[Written]:
    """The stage entries and internal events the audience wrote before `bound`: each at
    the time of its profile's change (for a batch, its latest event in the batch)."""
    rows = []
    for pid, name, properties in audience.occurrences:
        at = changes[pid].at
        if at <= bound:
            rows.append(Written(pid, at, "internal", name))
            if name == "stage_entered":
                rows.append(Written(pid, at, STAGE_ENTRY, properties["stage"]))
    return rows
