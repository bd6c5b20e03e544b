"""Field types shared by every content definition: names, durations, plain values.

Validators raise `PydanticCustomError` with a finished sentence, so the message an author
reads is ours, not pydantic's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Tag
from pydantic_core import PydanticCustomError

from engine.catalog.problems import describe

_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_DURATION = re.compile(r"([1-9][0-9]*)([mhdw])")
_OFFSET = re.compile(r"([+-]?)([1-9][0-9]*[mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Definition(BaseModel):
    """Base of every content model: immutable, strict about types, and closed to unknown keys.

    `strict` keeps YAML honest: `"5"` is not an integer and `true` is not `1`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_by_name=True)


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise PydanticCustomError(
            "name",
            "invalid name '{value}': use lowercase letters, digits, '-' and '_', "
            "starting with a letter",
            {"value": value},
        )
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty", "must not be empty")
    return value


def parse_duration(value: Any) -> Any:
    """`30m`, `36h`, `2d`, `1w` to a `timedelta`; other strings and types are refused."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PydanticCustomError(
            "duration",
            "expected a duration such as 30m, 36h, 2d or 1w, got {got}",
            {"got": describe(value)},
        )
    try:
        return timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        raise PydanticCustomError(
            "duration", "the duration {got} is too long", {"got": describe(value)}
        ) from None


def parse_offset(value: Any) -> Any:
    """`now`, or a duration with an optional sign (`-3d`, `+12h`, `1w`), to a `timedelta`."""
    if isinstance(value, timedelta) or value == "now":
        return timedelta(0) if value == "now" else value
    match = _OFFSET.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PydanticCustomError(
            "offset",
            "expected now or a duration with an optional sign, such as -3d, +12h or 1w, got {got}",
            {"got": describe(value)},
        )
    duration: timedelta = parse_duration(match[2])
    return -duration if match[1] == "-" else duration


def _scalar(value: Any) -> Any:
    if value is None or not isinstance(value, str | int | float | bool):
        raise PydanticCustomError(
            "scalar", "expected a string, number or boolean, got {got}", {"got": describe(value)}
        )
    return value


def _orderable(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError(
            "orderable", "expected a number or a string, got {got}", {"got": describe(value)}
        )
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError(
            "regex", "invalid regular expression: {error}", {"error": str(exc)}
        ) from None
    return value


Name = Annotated[str, AfterValidator(_name)]
"""An identifier authors choose: flows, segments, stages, templates, step ids, variants."""

Text = Annotated[str, AfterValidator(_text)]
"""Free text that must say something: event names, trait keys, titles."""

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Offset = Annotated[timedelta, BeforeValidator(parse_offset)]
"""A signed distance from a moment: `-3d` is three days before it, `now` is the moment."""
Scalar = Annotated[Any, AfterValidator(_scalar)]
Orderable = Annotated[Any, AfterValidator(_orderable)]
Regex = Annotated[str, AfterValidator(_regex)]


def tag(kind: str) -> Tag:
    """The union tag of one kind. The angle brackets keep tags apart from YAML keys in error
    locations, so `locate` can skip them."""
    return Tag(f"<{kind}>")


@dataclass(frozen=True)
class Vocabulary:
    """The kinds a tagged union accepts, and the keys every kind shares (for error messages)."""

    kinds: tuple[str, ...]
    shared: tuple[str, ...]


VOCABULARIES: dict[str, Vocabulary] = {}
"""Every tagged union by noun, filled at import by `tagged`; read by the error translator."""


def tagged(noun: str, kinds: tuple[str, ...], shared: tuple[str, ...] = ()) -> Discriminator:
    """A discriminator for content written as `kind: value` mappings (`email: welcome`).

    A mapping's kind is the one key it has among `kinds`; a model instance (built in Python)
    names its own with a `kind` class variable. Anything else fails with a `kind` error whose
    message is the noun, so the error translator can look the vocabulary up and explain.
    """
    VOCABULARIES[noun] = Vocabulary(kinds, shared)
    known = frozenset(kinds)

    def pick(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            own = getattr(type(value), "kind", None)
            return f"<{own}>" if own in known else None
        if isinstance(value, dict):
            found = [key for key in value if key in known]
            return f"<{found[0]}>" if len(found) == 1 else None
        return None

    return Discriminator(pick, custom_error_type="kind", custom_error_message=noun)
