"""Plain hints beside the parser's message, for the YAML mistakes authors make most."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog.yamlfile import read_documents

CASES = [
    (
        "steps:\n  - email: a\n  tip: b\n",
        "3:3: invalid YAML: a key where a list item was expected: start the line with '- ' "
        "for a new item, or indent it to line up with the keys of the item above",
    ),
    (
        "flow: x\nsteps:\n  - email: a\n    id: z\n - tip: b\n",
        "5:2: invalid YAML: this line is indented by 1 space, which lines up with no line "
        "above (they are indented by 0, 2, 4): a block's lines must start in the same column",
    ),
    (
        "flow: x\ngoal:\n    stage: a\n  # a comment\n  within: 2d\n",
        "5:3: invalid YAML: this line is indented by 2 spaces, which lines up with no line "
        "above (they are indented by 0, 4): a block's lines must start in the same column",
    ),
    (
        "flow: x\ngoal:\n  stage: a\n   within: 2d\n",
        "4:10: invalid YAML: this line is indented more than line 3 (3 spaces against 2 spaces), "
        "but that line already has a value",
    ),
    ("flow: @x\n", "1:7: invalid YAML: a value cannot start with '@': put the whole value"),
    (
        "flow: x\naudience: [a, b\nsteps: []\n",
        "3:6: invalid YAML: the bracket opened at line 2 is not closed where expected",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_syntax_error_comes_with_a_plain_hint(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")

    _, problems = read_documents(path)

    assert len(problems) == 1
    assert problems[0].format(tmp_path).startswith(f"file.yaml:{expected}")
    assert "(the parser says: " in problems[0].message


def test_an_error_no_rule_knows_keeps_the_parser_message_alone(tmp_path: Path) -> None:
    path = tmp_path / "file.yaml"
    path.write_text("a: &x 1\nb: *y\n", encoding="utf-8")

    _, problems = read_documents(path)

    assert [p.message for p in problems] == ["invalid YAML: found undefined alias 'y'"]
