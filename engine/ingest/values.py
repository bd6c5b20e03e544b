"""What a message may hold, checked where it is parsed (pure, no I/O).

Every value of a message ends up in a JSON column on SQLite or PostgreSQL and is read back
by the API and the dashboard, so a value that could not be written or read back is refused
with the path of the value, before anything is stored:

- nesting deeper than `MAX_DEPTH` levels (orjson writes at most 255, and nothing real
  comes close to this bound);
- strings, keys included, holding NUL, which PostgreSQL text and jsonb cannot store, or a
  lone surrogate (`"\\ud800"`), which is not Unicode text at all;
- numbers that are not finite (`NaN`, `Infinity`, `1e400`): JSON has no such values.

A rejected item itself is kept as a dead letter: as JSON when it holds nothing of the
above, else as ASCII JSON text (`ascii_json`), whose escapes show the offending characters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, model_validator

MAX_DEPTH = 64  # the message object is level 1, its properties level 2, ...
_SHOWN = 64  # characters of a key shown in a field path

Problem = tuple[list[str | int], str]  # path from the checked value down, and why


def find_problem(value: Any, depth: int = 1) -> Problem | None:
    """The first value that cannot be stored, with its path; None if all can."""
    if type(value) is dict or type(value) is list:
        return _in_container(value, depth)
    reason = _scalar_problem(value)
    return None if reason is None else ([], reason)


def _in_container(value: dict[str, Any] | list[Any], depth: int) -> Problem | None:
    # On the hot path for every item: scalars are checked inline, without a call each.
    if depth > MAX_DEPTH:
        return [], f"nests objects and arrays deeper than {MAX_DEPTH} levels"
    is_dict = isinstance(value, dict)
    pairs: Iterable[tuple[Any, Any]] = (
        value.items() if isinstance(value, dict) else enumerate(value)
    )
    for key, item in pairs:
        if is_dict and (not key.isascii() or "\x00" in key):
            reason = text_problem(key)
            if reason is not None:
                return [shown(key)], f"the key {reason}"
        kind = type(item)
        if kind is dict or kind is list:
            found = _in_container(item, depth + 1)
        elif (kind is str and (not item.isascii() or "\x00" in item)) or kind is float:
            reason = _scalar_problem(item)
            found = None if reason is None else ([], reason)
        else:
            continue
        if found is not None:
            found[0].insert(0, shown(key) if is_dict else key)
            return found
    return None


def _scalar_problem(value: Any) -> str | None:
    if type(value) is str:
        return text_problem(value)
    if type(value) is float and not math.isfinite(value):
        return "must be a finite number"
    return None


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "contains a lone surrogate (\\ud800-\\udfff), which is not Unicode text"
    return None


def field_path(prefix: str, parts: list[Any]) -> str:
    """`batch[3]` + ["properties", "tags", 0] -> `batch[3].properties.tags[0]`."""
    path = prefix
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else join_field(path, str(part))
    return path


def join_field(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def shown(key: str) -> str:
    """A key as an error message can carry it: escaped, and cut if long."""
    safe = key.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")
    return safe if len(safe) <= _SHOWN else safe[:_SHOWN] + "…"


class StorableBody(BaseModel):
    """A request body model that refuses, before its own validation, any value no backend
    can store, naming the value's path (FastAPI bodies other than the messages)."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = find_problem(data)
        if problem is not None:
            raise ValueError(f"{field_path('', problem[0]) or 'body'}: {problem[1]}")
        return data


def as_dead_letter(payload: Any) -> tuple[Any, str | None]:
    """A rejected item as (payload, raw): as JSON if it can be stored so, else as text."""
    if find_problem(payload) is None:
        return payload, None
    return None, ascii_json(payload)


class _Text(str):
    """JSON text already written, on `ascii_json`'s stack."""


def ascii_json(value: Any) -> str:
    """JSON text of a decoded body's value, every non-ASCII character escaped (so NUL and
    lone surrogates stay visible and storable). Iterative: json.dumps recurses, and an item
    1,000 levels deep, which orjson reads, would exceed Python's recursion limit."""
    out: list[str] = []
    todo: list[Any] = [value]
    while todo:
        item = todo.pop()
        if type(item) is _Text:
            out.append(item)
        elif type(item) is dict or type(item) is list:
            pairs = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            opening, closing = "{}" if isinstance(item, dict) else "[]"
            todo.append(_Text(closing))
            for n, (key, inner) in reversed(list(enumerate(pairs))):
                todo.append(inner)
                name = "" if key is None else json.dumps(key) + ":"
                todo.append(_Text(("," if n else "") + name))
            todo.append(_Text(opening))
        else:
            out.append(json.dumps(item))
    return "".join(out)


def body_text(body: bytes) -> str:
    """A request body as storable text: bad UTF-8 and NUL become U+FFFD."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
