"""Response models of the profile and dead-letter read API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventCounts(BaseModel):
    total: int
    by_type: dict[str, int]
    by_name: dict[str, int]


class SegmentMembershipPublic(BaseModel):
    segment: str
    entered_at: datetime


class ProfilePublic(BaseModel):
    user_id: str | None
    anonymous_ids: list[str]
    traits: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    event_counts: EventCounts
    persona: str | None
    stages: dict[str, datetime]  # stage -> entered at, in order of entry
    segments: list[SegmentMembershipPublic]


class EventPublic(BaseModel):
    message_id: str
    type: str
    name: str | None
    properties: dict[str, Any]
    context: dict[str, Any]
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime


class EventPage(BaseModel):
    data: list[EventPublic]
    next_cursor: str | None


class Erasure(BaseModel):
    user_id: str
    deleted: dict[str, int]


class DeadLetterPublic(BaseModel):
    id: int
    received_at: datetime
    source: str
    endpoint: str
    item_index: int | None
    errors: list[dict[str, Any]]
    payload: Any
    raw: str | None


class DeadLetterPage(BaseModel):
    data: list[DeadLetterPublic]
    next_cursor: str | None
