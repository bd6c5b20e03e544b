"""What the engine publishes to webhook subscribers, and who receives it. Pure.

An event is one fact about one profile (`stage.entered`, `delivery.sent`, ...). Each
subscribed endpoint gets its own outbox message carrying the Standard Webhooks body
`{"type", "timestamp", "data"}`, with the profile's `user_id` in `data`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.catalog.definitions import WEBHOOK_EVENT_TYPES

EVENT_TYPES = WEBHOOK_EVENT_TYPES


@dataclass(frozen=True)
class WebhookEvent:
    """One fact to report. `profile_id`, when given, ties the outbox message to the profile so
    erasing the profile erases what was not sent yet."""

    type: str
    user_id: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    profile_id: int | None = None


def subscribed(patterns: Iterable[str], event_type: str) -> bool:
    """Whether a subscription list (`stage.entered`, `stage.*`, `*`) covers `event_type`."""
    group = event_type.partition(".")[0] + ".*"
    return any(p in ("*", event_type, group) for p in patterns)


def timestamp_text(at: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the form Standard Webhooks bodies use."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(event: WebhookEvent, at: datetime) -> dict[str, Any]:
    data = {"user_id": event.user_id, **event.data}
    return {"type": event.type, "timestamp": timestamp_text(at), "data": data}


# Internal occurrences (engine.audience, engine.experiments) and the event each publishes.
OCCURRENCE_TYPES = {
    "stage_entered": "stage.entered",
    "segment_entered": "segment.entered",
    "segment_exited": "segment.exited",
    "experiment_exposed": "experiment.exposed",
}


def occurrence_events(
    occurrences: Iterable[tuple[int, str, Mapping[str, Any]]], user_ids: Mapping[int, str | None]
) -> list[WebhookEvent]:
    """The webhook events of a batch's internal occurrences `(profile id, name, properties)`;
    other occurrences (tracked events) publish nothing."""
    return [
        WebhookEvent(OCCURRENCE_TYPES[name], user_ids.get(pid), dict(properties), pid)
        for pid, name, properties in occurrences
        if name in OCCURRENCE_TYPES
    ]


def delivery_events(
    delivery: Mapping[Any, Any], outcome: Mapping[str, Any], user_id: str | None
) -> list[WebhookEvent]:
    """`delivery.sent` or `delivery.failed` for a delivery row and its recorded outcome
    (the values the dispatcher writes); nothing for retries and skips."""
    status = outcome.get("status")
    if status not in ("sent", "failed"):
        return []
    data = {
        "delivery_id": delivery["id"],
        "flow": delivery["flow"],
        "step": delivery["step"],
        "channel": delivery["channel"],
        "content": delivery["content"],
        "attempts": outcome.get("attempts"),
    }
    if status == "failed":
        data["reason"] = outcome.get("reason")
    return [WebhookEvent(f"delivery.{status}", user_id, data, delivery["profile_id"])]


RUN_ENDS = ("completed", "converted", "exited", "failed")


def flow_events(
    journey: Iterable[Mapping[str, Any]],
    runs: Mapping[int, Mapping[str, Any]],
    user_ids: Mapping[int, str | None],
) -> list[WebhookEvent]:
    """`flow.entered` and `flow.ended` from a batch's journey rows (kind `flow`), whose
    runs are in `runs` by id."""
    events = []
    for entry in journey:
        run = runs.get(entry["run_id"])
        if entry["kind"] != "flow" or run is None:
            continue
        pid, detail = run["profile_id"], entry["detail"] or {}
        data = {"flow": run["flow"], "run_id": entry["run_id"]}
        if entry["outcome"] == "entered":
            data |= {"variant": detail.get("variant"), "trigger": detail.get("trigger")}
            events.append(WebhookEvent("flow.entered", user_ids.get(pid), data, pid))
        elif entry["outcome"] in RUN_ENDS:
            data |= {"status": entry["outcome"], "reason": detail.get("reason")}
            events.append(WebhookEvent("flow.ended", user_ids.get(pid), data, pid))
    return events


def new_message_id() -> str:
    """The `webhook-id` of a new message: random, so two installations posting to one
    receiver never collide; it stays the same on every retry and replay."""
    return f"msg_{uuid.uuid4().hex}"
