"""Flow versions: a content hash of the flow document, and the document parsed back.

Runs store the version they started with; a version is immutable, so a parsed definition can
be cached by its hash for the life of the process.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson

from engine.catalog.catalog import Catalog
from engine.catalog.definitions import Flow


def current_version(catalog: Catalog, name: str) -> tuple[str, Any]:
    """(hash, document) of the flow as the live catalog defines it."""
    document = catalog.flow_sources[name]
    return _digest(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)), document


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flow_of_version(version: str, document: Any) -> Flow:
    """The flow a stored document defines (documents are stored as JSON: lists, not tuples)."""
    return _parse(version, orjson.dumps(document))


@lru_cache(maxsize=256)
def _parse(version: str, data: bytes) -> Flow:
    return Flow.model_validate(content_data(orjson.loads(data)))


def content_data(value: Any) -> Any:
    """Content models take sequences as tuples, as the YAML loader produces them."""
    if isinstance(value, list):
        return tuple(content_data(v) for v in value)
    if isinstance(value, dict):
        return {k: content_data(v) for k, v in value.items()}
    return value
