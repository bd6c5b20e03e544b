"""Turn a request body into validated messages plus per-item errors (no I/O).

A batch is validated in one call (the common, all-valid case); if anything is wrong it is
re-validated item by item, so one bad item never costs the others. Every error names the
field as the caller spelled it, e.g. `batch[3].event`. Values that could not be stored
(`engine.ingest.values`) are refused the same way, item by item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from engine.ingest.schemas import (
    BATCH_ADAPTER,
    MESSAGE_ADAPTER,
    MESSAGE_TYPES,
    TIMESTAMP_ADAPTER,
    AnyMessage,
    lacks_an_id,
)
from engine.ingest.values import field_path, find_problem, join_field, shown

_INT_RANGE = range(-(2**63), 2**64)  # what orjson reads as an int; beyond, a float


@dataclass(frozen=True)
class ItemError:
    field: str
    message: str
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.index is not None:
            out["index"] = self.index
        return out


@dataclass(frozen=True)
class Rejected:
    index: int | None
    payload: Any
    errors: list[ItemError]


@dataclass
class Parsed:
    messages: list[AnyMessage] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def errors(self) -> list[ItemError]:
        return [e for r in self.rejected for e in r.errors]


def decode_body(raw: bytes) -> Any:
    """The JSON of a request body, or None if it is not JSON.

    orjson refuses a whole body for one `NaN`, `1e400` or `"\\ud800"`; the standard
    library reads those, so that the items holding them are refused one by one instead.
    Integers read as orjson reads them (a float beyond 64 bits).
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw, parse_int=_integer)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _integer(digits: str) -> int | float:
    if len(digits) <= 21 and int(digits) in _INT_RANGE:
        return int(digits)
    return float(digits)


def parse_batch(body: dict[str, Any]) -> Parsed:
    """Validate a `/v1/batch` body; batch-level `sentAt` and `context` apply to every item."""
    items = body.get("batch")
    if not isinstance(items, list):
        return _reject_whole(body, "batch", "batch must be an array of messages")
    sent_at = None
    if body.get("sentAt") is not None:
        try:
            sent_at = TIMESTAMP_ADAPTER.validate_python(body["sentAt"])
        except ValidationError as exc:
            return _reject_whole(body, "sentAt", exc.errors()[0]["msg"])
    context = body.get("context")
    shared_context = context if isinstance(context, dict) else None
    problem = find_problem(shared_context, 2)
    if problem is not None:
        return _reject_whole(body, field_path("context", problem[0]), problem[1])
    try:
        validated: list[AnyMessage | list[ItemError]] = list(BATCH_ADAPTER.validate_python(items))
    except ValidationError:
        validated = [_validate_item(item, f"batch[{i}]", i) for i, item in enumerate(items)]
    parsed = Parsed()
    for index, valid in enumerate(validated):
        outcome = _storable(items[index], valid, f"batch[{index}]", index)
        if isinstance(outcome, list):
            parsed.rejected.append(Rejected(index, items[index], outcome))
        elif lacks_an_id(outcome):
            error = ItemError(f"batch[{index}].userId", "userId or anonymousId is required", index)
            parsed.rejected.append(Rejected(index, items[index], [error]))
        else:
            parsed.messages.append(_with_defaults(outcome, sent_at, shared_context))
    return parsed


def parse_single(body: dict[str, Any], message_type: str) -> Parsed:
    """Validate a single call (`/v1/track` ...): the type comes from the path."""
    outcome = _storable(body, _validate_item({**body, "type": message_type}, "", None), "", None)
    if isinstance(outcome, list):
        return Parsed(rejected=[Rejected(None, body, outcome)])
    if lacks_an_id(outcome):
        return _reject_whole(body, "userId", "userId or anonymousId is required")
    return Parsed(messages=[outcome])


def _reject_whole(body: Any, field_name: str, message: str) -> Parsed:
    return Parsed(rejected=[Rejected(None, body, [ItemError(field_name, message)])])


def _validate_item(item: Any, prefix: str, index: int | None) -> AnyMessage | list[ItemError]:
    if not isinstance(item, dict):
        return [ItemError(prefix or "body", "expected a JSON object", index)]
    try:
        return MESSAGE_ADAPTER.validate_python(item)
    except ValidationError as exc:
        return [_item_error(prefix, err, item.get("type"), index) for err in exc.errors()]


def _storable(
    item: Any, outcome: AnyMessage | list[ItemError], prefix: str, index: int | None
) -> AnyMessage | list[ItemError]:
    """A message holding a value that no backend can store is refused all the same."""
    problem = find_problem(item) if isinstance(item, dict) else None
    if problem is None:
        return outcome
    return [ItemError(field_path(prefix, problem[0]), problem[1], index)]


def _with_defaults(
    message: AnyMessage, sent_at: datetime | None, context: dict[str, Any] | None
) -> AnyMessage:
    if message.sent_at is None:
        message.sent_at = sent_at
    if context is not None:
        message.context = {**context, **message.context}
    return message


def _item_error(prefix: str, err: Any, message_type: Any, index: int | None) -> ItemError:
    if err["type"] == "union_tag_not_found":
        return ItemError(join_field(prefix, "type"), "type is required", index)
    if err["type"] == "union_tag_invalid":
        expected = ", ".join(MESSAGE_TYPES)
        text = f"unknown type {shown(repr(message_type))} (expected one of {expected})"
        return ItemError(join_field(prefix, "type"), text, index)
    return ItemError(_loc_path(prefix, err["loc"], message_type), err["msg"], index)


def _loc_path(prefix: str, loc: tuple[Any, ...], message_type: Any) -> str:
    parts = list(loc)
    if parts and parts[0] in (message_type, "page"):  # the discriminator tag pydantic adds
        parts = parts[1:]
    return field_path(prefix, parts) if parts else join_field(prefix, "type")
