"""Reads YAML content files into plain data while remembering where every value came from.

PyYAML's node API (`compose_all`) keeps a start mark on every node, which the plain
`safe_load` throws away; we convert nodes to data ourselves so that any later finding
(a schema error, an unknown reference) can be traced back to `line:column`. Converting by
hand also lets us refuse what `safe_load` silently accepts: duplicate keys (it keeps the
last), YAML 1.1 booleans such as `no` for Norway, and custom tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.catalog.problems import Problem
from engine.catalog.yamlhints import hint, where

Loc = Sequence[int | str]

_CORE = "tag:yaml.org,2002:"
_CONSTRUCTED = {f"{_CORE}{name}" for name in ("int", "float", "null", "bool")}
_AS_TEXT = {f"{_CORE}str", f"{_CORE}timestamp"}
_CONSTRUCTOR = SafeConstructor()
_MAX_DEPTH = 50
_TOO_DEEP = f"nested more than {_MAX_DEPTH} levels deep (does an alias contain itself?)"
_NOT_A_KEY = (
    "a mapping key must be a plain string (YAML reads a value that starts with '{' or '[' "
    "as a mapping or a list: put such a value in quotes)"
)
T = TypeVar("T")


@dataclass(frozen=True)
class YamlDocument:
    """One YAML document of a content file: its data and the node tree it came from."""

    path: Path
    root: Node
    data: Any

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        """A problem at the value `loc` leads to (or at its key, for unknown/duplicate keys)."""
        line, column = self.position(loc, at_key=at_key)
        return Problem(self.path, line, column, message)

    def position(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """1-based line and column of the node at `loc`."""
        node = locate(self.root, loc, at_key=at_key)
        return node.start_mark.line + 1, node.start_mark.column + 1


@dataclass(frozen=True)
class Located(Generic[T]):
    """A validated definition with the document and location it was read from, so checks
    made later, across files, can still point at a line."""

    value: T
    document: YamlDocument
    loc: tuple[int | str, ...] = ()

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        return self.document.problem((*self.loc, *loc), message, at_key=at_key)

    def line(self, loc: Loc = ()) -> int:
        return self.document.position((*self.loc, *loc))[0]


def read_documents(path: Path) -> tuple[list[YamlDocument], list[Problem]]:
    """Every document of one YAML file, plus the problems met while reading it."""
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [], [Problem(path, 0, 0, "cannot read the file: it is not UTF-8 text")]
    except OSError as exc:
        return [], [Problem(path, 0, 0, f"cannot read the file: {exc.strerror}")]
    documents: list[YamlDocument] = []
    try:
        for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
            data = _convert(root, path, problems)
            if data is not None:  # an empty document, such as after a trailing `---`
                documents.append(YamlDocument(path, root, data))
    except yaml.MarkedYAMLError as exc:
        mark = where(exc)
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        parser = exc.problem or str(exc)
        plain = hint(exc, text)
        message = f"{plain} (the parser says: {parser})" if plain else parser
        problems.append(Problem(path, line, column, f"invalid YAML: {message}"))
    except RecursionError:  # PyYAML's parser recurses once per nesting level
        problems.append(Problem(path, 0, 0, f"invalid YAML: {_TOO_DEEP}"))
    return documents, problems


def locate(root: Node, loc: Loc, *, at_key: bool = False) -> Node:
    """The node a validation location points at.

    Elements that do not name a child (union tags such as `<email>`, wrapper fields that
    have no YAML key) leave us where we are; `[key]` (pydantic's marker for an invalid
    mapping key) and `at_key` select the key node instead of its value.
    """
    node, key = root, None
    for element in loc:
        if element == "[key]" and key is not None:
            node = key
            continue
        found = _child(node, element)
        if found is not None:
            key, node = found
    return key if at_key and key is not None else node


def _child(node: Node, element: int | str) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode) and isinstance(element, str):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == element:
                return key, value
    in_range = isinstance(element, int) and 0 <= element < len(node.value)
    if isinstance(node, SequenceNode) and in_range:
        return None, node.value[element]
    return None


def _convert(node: Node, path: Path, problems: list[Problem], depth: int = 0) -> Any:
    """Plain data for a node: str/int/float/bool/None scalars, tuples and str-keyed dicts."""
    if isinstance(node, ScalarNode):
        return _scalar(node, path, problems)
    if depth > _MAX_DEPTH:  # also ends aliases that contain themselves (`&a [*a]`)
        problems.append(_at(node, path, _TOO_DEEP))
        return None
    if node.tag not in (f"{_CORE}seq", f"{_CORE}map"):
        problems.append(_at(node, path, f"unsupported YAML tag '{node.tag}'"))
    if isinstance(node, SequenceNode):
        return tuple(_convert(item, path, problems, depth + 1) for item in node.value)
    assert isinstance(node, MappingNode)
    return _mapping(node, path, problems, depth)


def _mapping(node: MappingNode, path: Path, problems: list[Problem], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first: dict[str, Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            problems.append(_at(key_node, path, _NOT_A_KEY))
            continue
        key = key_node.value
        if key in first:
            line = first[key].start_mark.line + 1
            message = f"duplicate key '{key}' (first defined at line {line})"
            problems.append(_at(key_node, path, message))
            continue
        first[key] = key_node
        out[key] = _convert(value_node, path, problems, depth + 1)
    return out


def _scalar(node: ScalarNode, path: Path, problems: list[Problem]) -> Any:
    tag = node.tag
    if tag == f"{_CORE}bool" and node.value.lower() not in ("true", "false"):
        return node.value  # YAML 1.1 reads yes/no/on/off as booleans; we keep them as text
    if tag in _CONSTRUCTED:
        return SafeConstructor.yaml_constructors[tag](_CONSTRUCTOR, node)
    if tag not in _AS_TEXT:
        problems.append(_at(node, path, f"unsupported YAML tag '{tag}'"))
    return node.value


def _at(node: Node, path: Path, message: str) -> Problem:
    return Problem(path, node.start_mark.line + 1, node.start_mark.column + 1, message)
