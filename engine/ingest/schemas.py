"""The Segment Tracking API message shapes, validated per item.

Field names are Segment's (camelCase) so that error messages name the field the caller sent.
Unknown fields are ignored, as Segment does; `integrations` is accepted and not used.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from engine.ingest.timestamps import EARLIEST, LATEST

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")


Id = Annotated[str, Field(min_length=1, max_length=255)]


def _in_range(value: datetime) -> datetime:
    """Client times are bounded where they are read, so no later arithmetic can overflow."""
    try:
        utc = value.astimezone(UTC)  # year 1 at +14:00 or 9999 at -12:00 has no UTC form
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)")
    return value


# ISO 8601 with an offset (parsed in pydantic's Rust core), in the range of EARLIEST..LATEST
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
Doc = dict[str, Any]


class BaseMessage(BaseModel):
    # Not frozen: batch-level defaults (sentAt, context) are applied after validation.
    # SDKs send numeric ids as numbers; Segment treats them as strings.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    # Without a messageId a retry cannot be recognised; one is generated so the message is
    # still stored exactly once per request.
    message_id: Id = Field(default_factory=lambda: str(uuid.uuid4()), alias="messageId")
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
BATCH_ADAPTER: TypeAdapter[list[AnyMessage]] = TypeAdapter(list[Message])
TIMESTAMP_ADAPTER: TypeAdapter[datetime] = TypeAdapter(Timestamp)


def lacks_an_id(message: AnyMessage) -> bool:
    """Every call but alias names its user by userId or anonymousId."""
    return (
        not isinstance(message, Alias) and message.user_id is None and message.anonymous_id is None
    )


class BatchBody(BaseModel):
    """`POST /v1/batch` as the OpenAPI document shows it; never used to parse a request
    (the route validates each item on its own, so that one bad item costs only itself)."""

    batch: list[Message]
    sent_at: Timestamp | None = Field(default=None, alias="sentAt")
    context: Doc | None = None
    write_key: str | None = Field(default=None, alias="writeKey")


_REF = "#/components/schemas/{model}"
_CALLS: dict[str, type[BaseModel]] = {
    "identify": Identify,
    "track": Track,
    "page": Page,
    "screen": Page,
    "group": Group,
    "alias": Alias,
}


def body_ref(kind: str) -> str:
    """The OpenAPI reference of an ingestion route's body (`batch` or a message type)."""
    return _REF.format(model="Batch" if kind == "batch" else f"{kind.title()}Call")


def openapi_components() -> dict[str, Any]:
    """JSON Schemas of the ingestion bodies: the batch, and each single call, whose
    `type` is optional since the path gives it."""
    batch = BatchBody.model_json_schema(by_alias=True, ref_template=_REF)
    components: dict[str, Any] = batch.pop("$defs")
    components["Batch"] = batch
    for kind, model in _CALLS.items():
        call = copy.deepcopy(components[model.__name__])
        call["required"] = [name for name in call.get("required", []) if name != "type"]
        call["properties"]["writeKey"] = {"type": "string", "title": "Writekey"}
        components[f"{kind.title()}Call"] = call
    return components
