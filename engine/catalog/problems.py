"""Problems found in content, kept as data so `validate` can report all of them at once.

Every loader stage appends `Problem`s instead of raising: an author fixing content wants the
whole list in one run, each pointing at `path:line:column` the way compilers do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in one content file. `line` and `column` are 1-based; 0 means the whole file."""

    path: Path
    line: int
    column: int
    message: str

    def format(self, base: Path | None = None) -> str:
        """`path:line:column: message`, with the path relative to `base` when it lies inside."""
        shown = relative_path(self.path, base) if base is not None else self.path
        if self.line == 0:
            return f"{shown}: {self.message}"
        return f"{shown}:{self.line}:{self.column}: {self.message}"


def relative_path(path: Path, base: Path) -> Path:
    """`path` relative to `base` if it is inside it, else unchanged."""
    try:
        return path.resolve().relative_to(base.resolve())
    except ValueError:
        return path


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option `word` most likely misspells, if any is close enough."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A ` (did you mean 'x'?)` suffix naming the closest option, or nothing."""
    match = closest(word, options)
    return f" (did you mean '{match}'?)" if match else ""


def describe(value: object) -> str:
    """How a YAML value reads in an error message: `the string 'abc'`, `a list`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string '{shown}'"
    if isinstance(value, tuple | list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
