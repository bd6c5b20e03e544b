"""Turn a request body into validated messages plus per-item errors (no I/O).

A batch is validated item by item, so one bad item never costs the others; every error
names the field as the caller spelled it, e.g. `batch[3].event`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from engine.ingest.schemas import MESSAGE_ADAPTER, MESSAGE_TYPES, AnyMessage


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


def parse_batch(body: dict[str, Any]) -> Parsed:
    """Validate a `/v1/batch` body; batch-level `sentAt` and `context` apply to every item."""
    items = body.get("batch")
    if not isinstance(items, list):
        rejected = Rejected(None, body, [ItemError("batch", "batch must be an array of messages")])
        return Parsed(rejected=[rejected])
    defaults = {"sentAt": body.get("sentAt"), "context": body.get("context")}
    parsed = Parsed()
    for index, item in enumerate(items):
        _parse_item(parsed, item, f"batch[{index}]", index, None, defaults)
    return parsed


def parse_single(body: dict[str, Any], message_type: str) -> Parsed:
    """Validate a single call (`/v1/track` ...): the type comes from the path."""
    parsed = Parsed()
    _parse_item(parsed, body, "", None, message_type, {})
    return parsed


def _parse_item(
    parsed: Parsed,
    item: Any,
    prefix: str,
    index: int | None,
    message_type: str | None,
    defaults: dict[str, Any],
) -> None:
    if not isinstance(item, dict):
        error = ItemError(prefix or "body", "expected a JSON object", index)
        parsed.rejected.append(Rejected(index, item, [error]))
        return
    data = _with_defaults(item, message_type, defaults)
    errors = _check_ids(data, prefix, index)
    try:
        message = MESSAGE_ADAPTER.validate_python(data)
    except ValidationError as exc:
        errors += [_item_error(prefix, err, data.get("type"), index) for err in exc.errors()]
    if errors:
        parsed.rejected.append(Rejected(index, item, errors))
    else:
        parsed.messages.append(message)


def _with_defaults(
    item: dict[str, Any], message_type: str | None, defaults: dict[str, Any]
) -> dict[str, Any]:
    data = dict(item)
    if message_type is not None:
        data["type"] = message_type
    if data.get("sentAt") is None and defaults.get("sentAt") is not None:
        data["sentAt"] = defaults["sentAt"]
    shared_context = defaults.get("context")
    if isinstance(shared_context, dict):
        own = data.get("context")
        data["context"] = {**shared_context, **own} if isinstance(own, dict) else shared_context
    if not data.get("messageId"):
        # Without a messageId a retry cannot be recognised; give the message one so it is
        # still stored exactly once per request.
        data["messageId"] = str(uuid.uuid4())
    return data


def _check_ids(data: dict[str, Any], prefix: str, index: int | None) -> list[ItemError]:
    if data.get("type") == "alias" or data.get("userId") or data.get("anonymousId"):
        return []
    return [ItemError(_join(prefix, "userId"), "userId or anonymousId is required", index)]


def _item_error(prefix: str, err: Any, message_type: Any, index: int | None) -> ItemError:
    if err["type"] == "union_tag_not_found":
        return ItemError(_join(prefix, "type"), "type is required", index)
    if err["type"] == "union_tag_invalid":
        expected = ", ".join(MESSAGE_TYPES)
        text = f"unknown type {message_type!r} (expected one of {expected})"
        return ItemError(_join(prefix, "type"), text, index)
    return ItemError(_field_path(prefix, err["loc"], message_type), err["msg"], index)


def _field_path(prefix: str, loc: tuple[Any, ...], message_type: Any) -> str:
    parts = list(loc)
    if parts and parts[0] in (message_type, "page"):  # the discriminator tag pydantic adds
        parts = parts[1:]
    if not parts:
        return _join(prefix, "type")
    path = prefix
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
    return path


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
