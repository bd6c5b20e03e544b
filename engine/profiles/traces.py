"""Whether a kept input names a person: how erasure finds their dead letters (pure).

A rejected item is invalid by definition, so its ids may sit anywhere and in any type. An
item names the person when any of its values equals one of their ids (a number counts by
its text) or contains one of their email addresses, in any case. Unparsable bodies are
text: they name the person when they contain any of those strings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any


def names_person(
    payload: Any, raw: str | None, ids: Collection[str], emails: Collection[str]
) -> bool:
    emails = [e.lower() for e in emails]
    if raw is not None:
        text = raw.lower()
        if any(i.lower() in text for i in ids) or any(e in text for e in emails):
            return True
    for value in _values(payload):
        if value in ids or any(e in value.lower() for e in emails):
            return True
    return False


def _values(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value)
    elif isinstance(node, str):
        yield node
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield str(node)
