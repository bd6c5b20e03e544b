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
above, else as ASCII JSON text, whose escapes show the offending characters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 64  # the message object is level 1, its properties level 2, ...
_SHOWN = 64  # characters of a key shown in a field path

Problem = tuple[list[str | int], str]  # path from the checked value down, and why


def find_problem(value: Any, depth: int = 1) -> Problem | None:
    """The first value that cannot be stored, with its path; None if all can."""
    kind = type(value)
    if kind is str:
        reason = text_problem(value)
        return None if reason is None else ([], reason)
    if kind is float:
        return None if math.isfinite(value) else ([], "must be a finite number")
    if kind is not dict and kind is not list:
        return None
    if depth > MAX_DEPTH:
        return [], f"nests objects and arrays deeper than {MAX_DEPTH} levels"
    if kind is list:
        return _first_in(enumerate(value), depth)
    for key in value:
        reason = text_problem(key)
        if reason is not None:
            return [shown(key)], f"the key {reason}"
    found = _first_in(value.items(), depth)
    if found is not None:
        found[0][0] = shown(str(found[0][0]))  # only a failure pays for escaping
    return found


def _first_in(items: Iterable[tuple[Any, Any]], depth: int) -> Problem | None:
    for key, item in items:
        found = find_problem(item, depth + 1)
        if found is not None:
            found[0].insert(0, key)
            return found
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


def shown(key: str) -> str:
    """A key as an error message can carry it: escaped, and cut if long."""
    safe = key.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")
    return safe if len(safe) <= _SHOWN else safe[:_SHOWN] + "…"


def as_dead_letter(payload: Any, body: bytes) -> tuple[Any, str | None]:
    """A rejected item as (payload, raw): as JSON if it can be stored so, else as text.

    The text is the item's JSON with every non-ASCII character escaped; an item too deep
    even for that is kept as the whole request body.
    """
    if find_problem(payload) is None:
        return payload, None
    try:
        return None, json.dumps(payload, ensure_ascii=True)
    except RecursionError:
        return None, body_text(body)


def body_text(body: bytes) -> str:
    """A request body as storable text: bad UTF-8 and NUL become U+FFFD."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
