"""CSV downloads of the dashboard's tables, read from the page as rendered.

A table marked `data-csv="name"` downloads at its page's URL with `format=csv&table=name`.
The CSV is the table's own text, cell by cell (spans repeated as blanks, a cell's lines
joined by "; "), so it can never disagree with what the page shows. Cells that a spreadsheet
would take for a formula (starting with = + - @, a tab or a carriage return) get a leading
apostrophe (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from engine.errors import NotFound

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BREAKS = {"div", "br", "li", "p"}
SPACE = re.compile(r"\s+")


def table_csv(page: str, name: str) -> str:
    """The CSV of the table `name` of the rendered `page`."""
    reader = _TableReader(name)
    reader.feed(page)
    reader.close()
    if reader.rows is None:
        raise NotFound(f"table: no table {name!r} on this page")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        [safe_cell(cell) for cell in row] for row in reader.rows
    )
    return out.getvalue()


def safe_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_START) else value


class _TableReader(HTMLParser):
    """Collects the cells of one named table: rows of text, spans expanded."""

    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.rows: list[list[str]] | None = None
        self.inside = False
        self.cell: list[str] | None = None
        self.spans: dict[int, int] = {}  # column -> rows still covered by a rowspan above
        self.colspan = 1
        self.rowspan = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-csv") == self.name:
            self.inside, self.rows = True, []
        elif not self.inside or self.rows is None:
            return
        elif tag == "tr":
            self.rows.append([])
            self._fill_spans()
        elif tag in ("td", "th"):
            self.cell = []
            self.colspan = int(found.get("colspan") or 1)
            self.rowspan = int(found.get("rowspan") or 1)
        elif tag in BREAKS and self.cell:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self.inside or self.rows is None:
            return
        if tag == "table":
            self.inside = False
        elif tag in ("td", "th") and self.cell is not None:
            lines = [SPACE.sub(" ", line).strip() for line in "".join(self.cell).split("\n")]
            row = self.rows[-1]
            column = len(row)
            row.append("; ".join(line for line in lines if line))
            row.extend([""] * (self.colspan - 1))
            if self.rowspan > 1:
                self.spans[column] = self.rowspan - 1
            self.cell = None
            self._fill_spans()

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def _fill_spans(self) -> None:
        """Blank cells where a rowspan from a row above covers the next column."""
        assert self.rows is not None
        row = self.rows[-1]
        while self.spans.get(len(row), 0) > 0:
            self.spans[len(row)] -= 1
            row.append("")
