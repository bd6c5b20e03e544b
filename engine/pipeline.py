"""The data path of one batch, in one transaction: store -> audience -> flow runtime.

    messages ─> ingest.store_messages ─> audience.apply_changes ─> flows.handle_occurrences
                 (profiles, events)       (stages, personas,        (start, wake, end runs;
                                           internal events)          deliveries as rows)

Used by the ingestion API, the in-app outcome API, email engagement and the testing kit, so
all behave exactly alike. Every event and stage entry metrics read is written here, so data
arriving late inside a folded experiment window is caught here too
(engine.experiments.late).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from engine.audience.service import AudienceResult, apply_changes
from engine.catalog.catalog import Catalog
from engine.experiments.late import STAGE_ENTRY, Written, refold_late_data, settled
from engine.flows.service import Occurrence, RuntimeResult, handle_occurrences
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.ingest.schemas import AnyMessage
from engine.ingest.service import IngestResult, store_messages
from engine.webhooks.service import publish_occurrences


@dataclass(frozen=True)
class PipelineResult:
    ingest: IngestResult
    audience: AudienceResult
    runtime: RuntimeResult


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
    audience = apply_changes(conn, catalog, ingested.changes, now)
    late = [*ingested.late, *_late_audience_rows(ingested, audience, settled(now))]
    refold_late_data(conn, catalog, late, now)
    occurrences = [
        Occurrence(pid, name, properties)
        for pid, name, properties in (*ingested.events, *audience.occurrences)
    ]
    runtime = handle_occurrences(conn, catalog, occurrences, now, ingested.changes, guardrails)
    publish_occurrences(conn, catalog, audience.occurrences, now)
    return PipelineResult(ingested, audience, runtime)


def _late_audience_rows(
    ingested: IngestResult, audience: AudienceResult, bound: datetime
) -> list[Written]:
    """The stage entries and internal events the audience wrote before `bound`: each at
    the time of its profile's latest event in the batch (ProfileChange.at)."""
    rows = []
    for pid, name, properties in audience.occurrences:
        at = ingested.changes[pid].at
        if at <= bound:
            rows.append(Written(pid, at, "internal", name))
            if name == "stage_entered":
                rows.append(Written(pid, at, STAGE_ENTRY, properties["stage"]))
    return rows
