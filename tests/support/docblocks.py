"""The fenced code blocks of a Markdown page, with the markers written just above them.

A marker is an HTML comment on the line(s) right above a fence, invisible once rendered:

    <!-- not run: REASON -->  shown, never executed; the reason is required
    <!-- fragment -->         a YAML excerpt (a few keys of a document): it must parse
    <!-- condition -->        a YAML condition: checked, as a flow's `exit_when`, in the
                              example content
    <!-- file: PATH -->       the block is the file PATH of the page's working directory
    <!-- models -->           the page's content gets a persona model `personas` and an
                              activation model `activation` (trained on synthetic data)
    <!-- exit: N -->          the sh block's commands exit with N (default 0)
    <!-- output -->           output of the sh block above: its lines (bar `...`) appear in it,
                              in order

tests/test_docs.py runs every block according to its language and markers
(tests/support/docrun.py says how).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKERS = ("not run", "fragment", "condition", "file", "models", "exit", "output")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[^`\s]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<name>[a-z][a-z ]*?)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts (the fence's line, 1-based), its language and text."""

    page: Path
    line: int
    lang: str
    text: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


class MarkerError(ValueError):
    """A marker the runner does not know, or one missing its value."""


def read_blocks(page: Path, shown_as: Path | None = None) -> list[Block]:
    """Every fenced block of `page`, in order; `shown_as` is the path used in messages."""
    lines = page.read_text(encoding="utf-8").splitlines()
    name = shown_as or page
    blocks: list[Block] = []
    marks: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _MARKER.match(line)
        fence = _FENCE.match(line)
        if marker:
            marks[marker["name"]] = _marker_value(name, index + 1, marker["name"], marker["value"])
        elif fence:
            end = _closing(lines, index, fence["indent"])
            body = [text.removeprefix(fence["indent"]) for text in lines[index + 1 : end]]
            text = "\n".join(body) + "\n"
            blocks.append(Block(name, index + 1, fence["lang"], text, marks))
            marks, index = {}, end
        elif line.strip():
            marks = {}
        index += 1
    return blocks


def _closing(lines: list[str], start: int, indent: str) -> int:
    for index in range(start + 1, len(lines)):
        if lines[index] == f"{indent}```":
            return index
    raise MarkerError(f"line {start + 1}: the fence is never closed")


def _marker_value(page: Path, line: int, name: str, value: str | None) -> str:
    if name not in MARKERS:
        raise MarkerError(f"{page}:{line}: unknown marker '{name}' (known: {', '.join(MARKERS)})")
    needs_value = name in ("not run", "file", "exit")
    if needs_value and not value:
        raise MarkerError(f"{page}:{line}: the marker '{name}' needs a value: <!-- {name}: ... -->")
    return value or ""
