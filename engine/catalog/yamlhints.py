"""Plain-language hints for YAML syntax errors, for authors who are not YAML experts.

PyYAML says where parsing failed and what token it met ("expected <block end>, but found
'-'"), which is exact but opaque. Nearly every such error in a content file is one of a few
mistakes: a tab, a line indented to a column no block above uses, a list item where a key
was expected (or the reverse), a `: ` inside an unquoted value, an unclosed quote or bracket.
Each is recognised from the parser's message and the lines of the file (pure, no I/O).
"""

from __future__ import annotations

from yaml import Mark, MarkedYAMLError


def hint(error: MarkedYAMLError, text: str) -> str | None:
    """A sentence explaining `error` in plain words, or None when no rule recognises it."""
    problem = error.problem or ""
    mark = error.problem_mark
    if mark is None:
        return None
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    opened = error.context_mark
    if "'\\t'" in problem:
        return "a tab character: YAML indents with spaces only, so replace the tab with spaces"
    if "cannot start any token" in problem:
        char = line[mark.column : mark.column + 1]
        return f"a value cannot start with '{char}': put the whole value in quotes"
    if problem == "mapping values are not allowed here":
        return _mapping_value_hint(lines, mark.line)
    if "end of stream" in problem and opened is not None and "quoted" in (error.context or ""):
        return f"the quote opened at line {opened.line + 1} is never closed"
    if opened is not None and "flow" in (error.context or ""):
        return f"the bracket opened at line {opened.line + 1} is not closed where expected"
    if problem.startswith("expected <block end>"):
        return _block_end_hint(lines, mark.line, problem, error.context or "")
    return None


def where(error: MarkedYAMLError) -> Mark | None:
    """Where to point the author: at the opening of a quote that the file's end left
    open (the end itself says nothing), else where the parser stopped."""
    if "end of stream" in (error.problem or "") and error.context_mark is not None:
        return error.context_mark
    return error.problem_mark or error.context_mark


def _mapping_value_hint(lines: list[str], number: int) -> str:
    above = _previous(lines, number)
    here = _indent(lines[number]) if number < len(lines) else 0
    if above is not None and here > _indent(lines[above]):
        return (
            f"this line is indented more than line {above + 1} ({_spaces(here)} against "
            f"{_spaces(_indent(lines[above]))}), but that line already has a value: "
            "align the two lines, or move the value of the line above to its own lines"
        )
    return "a second ': ' on this line: put the value in quotes if it contains ': '"


def _block_end_hint(lines: list[str], number: int, problem: str, context: str) -> str:
    here = lines[number] if number < len(lines) else ""
    stripped = here.lstrip()
    if problem.endswith("'-'") and "mapping" in context:
        return (
            "a list item ('- ') where a key was expected: indent the list under the key "
            "it belongs to, such as 'steps:'"
        )
    if problem.endswith("'?'") and "collection" in context and not stripped.startswith("-"):
        return (
            "a key where a list item was expected: start the line with '- ' for a new "
            "item, or indent it to line up with the keys of the item above"
        )
    used = sorted({_indent(lines[i]) for i in range(number) if _is_content(lines[i])})
    if _indent(here) in used:
        return "this line does not continue the block above it: check its indentation"
    shown = ", ".join(str(n) for n in used)
    return (
        f"this line is indented by {_spaces(_indent(here))}, which lines up with no line "
        f"above (they are indented by {shown}): a block's lines must start in the same column"
    )


def _previous(lines: list[str], number: int) -> int | None:
    """The index of the closest non-blank, non-comment line above `number`."""
    for index in range(number - 1, -1, -1):
        if _is_content(lines[index]):
            return index
    return None


def _is_content(line: str) -> bool:
    content = line.strip()
    return bool(content) and not content.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"
