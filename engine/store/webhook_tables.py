"""Tables of outbound webhooks: endpoints added through the API, the outbox, the attempt log.

Endpoints come from two places: content (`endpoint:` documents, referenced by name) and the
admin API (`webhook_endpoints`, referenced by id). A message and an attempt therefore name
exactly one of `endpoint_id` or `endpoint_name`. A message is written in the transaction of
the fact it reports and sent after commit, so a crash loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.store.base import NEVER_REUSED, BigId, JSONDoc, UTCDateTime

ONE_ENDPOINT = "(endpoint_id IS NULL) <> (endpoint_name IS NULL)"


def _fk(target: str, big: bool = False) -> Any:
    column = Column(
        BigId if big else None,
        ForeignKey(f"{target}.id", ondelete="CASCADE"),
        nullable=True,
    )
    return Field(default=None, sa_column=column)


class WebhookEndpointRow(SQLModel, table=True):
    """An endpoint added through the API; `previous_secret` also signs until it expires."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    events: list[str] = Field(sa_type=JSONDoc, nullable=False)
    secret: str = Field(max_length=200)
    previous_secret: str | None = Field(default=None, max_length=200)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class WebhookMessageRow(SQLModel, table=True):
    """One event for one endpoint: pending -> sending -> delivered | retrying | dead."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        UniqueConstraint("message_id"),
        CheckConstraint(ONE_ENDPOINT, name="one_endpoint"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "endpoint_id", "id"),
        Index(None, "endpoint_name", "id"),
        Index(None, "profile_id"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    message_id: str = Field(max_length=64)  # the `webhook-id` header
    endpoint_id: int | None = _fk("webhook_endpoints")
    endpoint_name: str | None = Field(default=None, max_length=64)
    profile_id: int | None = _fk("profiles")
    event_type: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_type=JSONDoc, nullable=False)
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttemptRow(SQLModel, table=True):
    """One HTTP attempt, of an outbox message or of a flow `webhook` step (a delivery)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        CheckConstraint(ONE_ENDPOINT, name="one_endpoint"),
        Index(None, "endpoint_id", "id"),
        Index(None, "endpoint_name", "id"),
        Index(None, "message_id"),
        Index(None, "delivery_id"),
        NEVER_REUSED,
    )

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    message_id: int | None = _fk("webhook_messages", big=True)
    delivery_id: int | None = _fk("deliveries", big=True)
    endpoint_id: int | None = _fk("webhook_endpoints")
    endpoint_name: str | None = Field(default=None, max_length=64)
    webhook_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    attempted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    outcome: str = Field(max_length=16)  # sent | retry | failed
    status_code: int | None = None
    duration_ms: int = 0
    response: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, max_length=500)
