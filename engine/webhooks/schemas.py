"""Request and response models of the webhook admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from engine.catalog.definitions import webhook_event_pattern
from engine.ingest.values import StorableBody
from engine.webhooks.signing import InvalidSecret, parse_secret

Status = Literal["pending", "sending", "retrying", "delivered", "dead"]


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) > 2000 or " " in value:
        raise ValueError("expected an http(s) URL of at most 2000 characters")
    return value


def _secret(value: str) -> str:
    try:
        parse_secret(value)
    except InvalidSecret as exc:
        raise ValueError(str(exc)) from None
    return value


Url = Annotated[str, AfterValidator(_http_url)]
EventPattern = Annotated[str, AfterValidator(webhook_event_pattern)]
Secret = Annotated[str, AfterValidator(_secret)]


class EndpointBase(BaseModel):
    url: Url
    events: list[EventPattern] = Field(default_factory=list, max_length=50)
    description: str = Field("", max_length=500)


class EndpointCreate(EndpointBase, StorableBody):
    """A new endpoint; without `secret`, one is generated (and shown once, in the answer)."""

    secret: Secret | None = None


class SecretRotation(StorableBody):
    """A new secret (generated when omitted); the old one keeps signing for `overlap_hours`."""

    secret: Secret | None = None
    overlap_hours: float = Field(24.0, ge=0, le=24 * 30)


class EndpointPublic(EndpointBase):
    id: str  # digits for API endpoints, the name for content ones
    source: Literal["api", "content"]
    signed: bool
    secret_env: str | None = None
    previous_secret_expires_at: datetime | None = None
    created_at: datetime | None = None


class EndpointWithSecret(EndpointPublic):
    """Answer of creation and rotation: the only time the secret is shown."""

    secret: str


class EndpointList(BaseModel):
    data: list[EndpointPublic]


class AttemptPublic(BaseModel):
    id: int
    message_id: str  # the `webhook-id` the receiver saw
    delivery_id: int | None  # set for flow `webhook` steps
    event_type: str
    attempted_at: datetime
    outcome: Literal["sent", "retry", "failed"]
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int


class AttemptPage(BaseModel):
    data: list[AttemptPublic]
    next_cursor: str | None


class MessagePublic(BaseModel):
    id: str
    endpoint: str
    event_type: str
    status: Status
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class MessagePage(BaseModel):
    data: list[MessagePublic]
    next_cursor: str | None


class Replayed(BaseModel):
    replayed: int
