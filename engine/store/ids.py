"""Row ids as they arrive from outside, in paths and page cursors.

Ids are 64-bit (BIGINT on PostgreSQL, INTEGER on SQLite): a larger number overflows the
driver, and `str.isdigit()` also accepts superscripts and other digits `int()` refuses,
so an id is read here, as ASCII digits within 1..MAX_ID, or not at all.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(text: str) -> int | None:
    """The id `text` spells, or None if it spells none."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
