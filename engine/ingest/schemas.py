"""The Segment Tracking API message shapes, validated per item.

Field names are Segment's (camelCase) so that error messages name the field the caller sent.
Unknown fields are ignored, as Segment does; `integrations` is accepted and not used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
)

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")


def _id_to_str(value: Any) -> Any:
    """SDKs send numeric ids as numbers; Segment treats them as strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _require_offset(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset (e.g. 2026-01-31T12:00:00Z)")
    return value


Id = Annotated[str, BeforeValidator(_id_to_str), Field(min_length=1, max_length=255)]
Timestamp = Annotated[datetime, AfterValidator(_require_offset)]
Doc = dict[str, Any]


class BaseMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: Id | None = Field(default=None, alias="messageId")
    user_id: Id | None = Field(default=None, alias="userId")
    anonymous_id: Id | None = Field(default=None, alias="anonymousId")
    timestamp: Timestamp | None = None
    original_timestamp: Timestamp | None = Field(default=None, alias="originalTimestamp")
    sent_at: Timestamp | None = Field(default=None, alias="sentAt")
    context: Doc = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return None

    @property
    def event_properties(self) -> Doc:
        return {}


class Identify(BaseMessage):
    type: Literal["identify"]
    traits: Doc = Field(default_factory=dict)

    @property
    def all_traits(self) -> Doc:
        """RudderStack SDKs put identify traits under context.traits; explicit traits win."""
        nested = self.context.get("traits")
        return {**nested, **self.traits} if isinstance(nested, dict) else dict(self.traits)


class Track(BaseMessage):
    type: Literal["track"]
    event: str = Field(min_length=1, max_length=255)
    properties: Doc = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return self.event

    @property
    def event_properties(self) -> Doc:
        return self.properties


class Page(BaseMessage):
    type: Literal["page", "screen"]
    name: str | None = Field(default=None, max_length=255)
    category: str | None = None
    properties: Doc = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return self.name

    @property
    def event_properties(self) -> Doc:
        if self.category is None:
            return self.properties
        return {**self.properties, "category": self.category}


class Group(BaseMessage):
    type: Literal["group"]
    group_id: Id = Field(alias="groupId")
    traits: Doc = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return self.group_id

    @property
    def event_properties(self) -> Doc:
        return self.traits


class Alias(BaseMessage):
    type: Literal["alias"]
    previous_id: Id = Field(alias="previousId")
    user_id: Id = Field(alias="userId")

    @property
    def event_name(self) -> str | None:
        return self.previous_id


Message = Annotated[Identify | Track | Page | Group | Alias, Field(discriminator="type")]
MESSAGE_ADAPTER: TypeAdapter[Identify | Track | Page | Group | Alias] = TypeAdapter(Message)
AnyMessage = Identify | Track | Page | Group | Alias
