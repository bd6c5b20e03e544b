"""Turns pydantic validation errors into author-facing problems at `line:column`.

Pydantic reports where (`loc`) and what (`type`) in its own words; we keep the where,
resolved to a YAML node, and rewrite the what for someone editing a YAML file:
"unknown key 'tirgger' (did you mean 'trigger'?)" rather than "Extra inputs are not
permitted".
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from engine.catalog.conditions import DATE_OPERATORS
from engine.catalog.fields import VOCABULARIES
from engine.catalog.problems import Problem, closest, describe, did_you_mean
from engine.catalog.yamlfile import Loc, YamlDocument

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "mapping_type": "a mapping",
}


def validate_document(document: YamlDocument, root: Any) -> tuple[Any, list[Problem]]:
    """`document.data` validated as `root` (a model or an annotated union), or the problems."""
    try:
        return _adapter(root).validate_python(document.data), []
    except ValidationError as error:
        return None, problems_from(error, document, root)


@functools.cache
def _adapter(root: Any) -> TypeAdapter[Any]:
    return TypeAdapter(root)


def problems_from(error: ValidationError, document: YamlDocument, root: Any) -> list[Problem]:
    """One problem per pydantic error; `root` is the type `document.data` was validated as."""
    errors = error.errors()
    return [_problem(d, document, root) for d in errors if not _is_echo(d, errors, root)]


def _is_echo(details: ErrorDetails, errors: list[ErrorDetails], root: Any) -> bool:
    """Whether another error reports this mistake better: a list is "too short" when its
    items failed (pydantic counts only valid ones), and a key is "missing" next to an
    unknown key that looks like it (`tirgger`)."""
    loc = details["loc"]
    if details["type"] == "too_short":
        return any(len(o["loc"]) > len(loc) and o["loc"][: len(loc)] == loc for o in errors)
    if details["type"] == "missing":
        known = _keys_at(root, loc[:-1])
        return any(
            o["type"] == "extra_forbidden"
            and o["loc"][:-1] == loc[:-1]
            and closest(str(o["loc"][-1]), known) == loc[-1]
            for o in errors
        )
    return False


def _problem(details: ErrorDetails, document: YamlDocument, root: Any) -> Problem:
    loc, kind, value = details["loc"], details["type"], details["input"]
    ctx = details.get("ctx", {})
    if kind == "missing":
        return document.problem(loc[:-1], f"missing required key '{loc[-1]}'")
    if kind == "extra_forbidden":
        known = _keys_at(root, loc[:-1])
        hint = did_you_mean(str(loc[-1]), known) or f" (expected one of: {', '.join(known)})"
        if loc[-1] in DATE_OPERATORS:
            hint = f": {loc[-1]} compares a date trait, as in {{trait: trial_ends_at, in_next: 3d}}"
        return document.problem(loc, f"unknown key '{loc[-1]}'{hint}", at_key=True)
    if kind == "kind":
        return _kind_problem(document, loc, value, details["msg"])
    if kind in _EXPECTED:
        return document.problem(loc, f"expected {_EXPECTED[kind]}, got {describe(value)}")
    if kind == "too_short":
        count = ctx["min_length"]
        return document.problem(loc, f"expected at least {count} item{'s' * (count != 1)}")
    if kind == "too_long":
        unit = "characters" if isinstance(value, str) else "items"
        return document.problem(loc, f"expected at most {ctx['max_length']} {unit}")
    if kind in ("greater_than_equal", "greater_than"):
        bound = f">= {ctx['ge']}" if "ge" in ctx else f"> {ctx['gt']}"
        return document.problem(loc, f"expected a number {bound}, got {describe(value)}")
    return document.problem(loc, details["msg"])


def _kind_problem(document: YamlDocument, loc: Loc, value: Any, noun: str) -> Problem:
    """Explain why a mapping is not a step/condition/trigger/document of any known kind."""
    vocabulary = VOCABULARIES[noun]
    kinds = vocabulary.kinds
    if not isinstance(value, dict):
        example = ", ".join(kinds)
        return document.problem(loc, f"expected a {noun} ({example}), got {describe(value)}")
    found = [key for key in value if key in kinds]
    if len(found) > 1:
        message = f"a {noun} has one kind, found '{found[0]}' and '{found[1]}'"
        return document.problem([*loc, found[1]], message, at_key=True)
    unknown = [key for key in value if key not in vocabulary.shared]
    if not unknown:
        return document.problem(loc, f"a {noun} needs one of: {', '.join(kinds)}")
    key = next((key for key in unknown if did_you_mean(key, kinds)), unknown[0])
    hint = did_you_mean(key, kinds) or f" (expected one of: {', '.join(kinds)})"
    return document.problem([*loc, key], f"unknown {noun} kind '{key}'{hint}", at_key=True)


def _keys_at(root: Any, loc: Loc) -> list[str]:
    """The keys the model at `loc` accepts, found by walking the type along the location."""
    node: Any = root
    for element in loc:
        node = _descend(node, element)
    model = _strip(node)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _descend(node: Any, element: int | str) -> Any:
    node = _strip(node)
    if get_origin(node) in (Union, types.UnionType):
        members = [member for member in get_args(node) if member is not type(None)]
        for member in members:
            if _tag(member) == element:
                return member
        return _descend(members[0], element) if len(members) == 1 else None
    if isinstance(node, type) and issubclass(node, BaseModel):
        for name, field in node.model_fields.items():
            if element in (name, field.alias):
                return field.annotation
        return None
    origin, args = get_origin(node), get_args(node)
    if origin in (tuple, list, Sequence):
        return args[0]
    if origin in (dict, Mapping):
        return args[1]
    return None


def _strip(node: Any) -> Any:
    while get_origin(node) is Annotated:
        node = get_args(node)[0]
    return node


def _tag(member: Any) -> str | None:
    if get_origin(member) is Annotated:
        for meta in get_args(member)[1:]:
            if isinstance(meta, Tag):
                return meta.tag
    return None
