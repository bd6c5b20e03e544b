"""The YAML reader: plain data, positions for every node, refusals `safe_load` lacks."""

from __future__ import annotations

from pathlib import Path

from engine.catalog.problems import Problem
from engine.catalog.yamlfile import YamlDocument, read_documents


def read(tmp_path: Path, text: str) -> tuple[list[YamlDocument], list[Problem]]:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    return read_documents(path)


def test_scalars_keep_json_types_and_lists_become_tuples(tmp_path: Path) -> None:
    documents, problems = read(tmp_path, "a: [1, 2.5, true, null, text]\nb: {c: false}\n")

    assert problems == []
    assert documents[0].data == {"a": (1, 2.5, True, None, "text"), "b": {"c": False}}


def test_yaml_1_1_booleans_and_dates_stay_text(tmp_path: Path) -> None:
    documents, _ = read(tmp_path, "country: NO\nanswer: yes\nswitch: on\nday: 2026-03-02\n")

    assert documents[0].data == {
        "country": "NO",
        "answer": "yes",
        "switch": "on",
        "day": "2026-03-02",
    }


def test_keys_are_always_strings(tmp_path: Path) -> None:
    documents, _ = read(tmp_path, "1: one\ntrue: yes\non: off\n")

    assert documents[0].data == {"1": "one", "true": "yes", "on": "off"}


def test_a_duplicate_key_is_reported_and_the_first_value_kept(tmp_path: Path) -> None:
    documents, problems = read(tmp_path, "a: 1\nb:\n  c: 2\n  c: 3\n")

    assert documents[0].data == {"a": 1, "b": {"c": 2}}
    assert [p.format(tmp_path) for p in problems] == [
        "file.yaml:4:3: duplicate key 'c' (first defined at line 3)"
    ]


def test_every_document_of_a_file_is_read(tmp_path: Path) -> None:
    documents, problems = read(tmp_path, "tip: a\n---\ntip: b\n---\n")

    assert problems == []
    assert [document.data for document in documents] == [{"tip": "a"}, {"tip": "b"}]
    assert documents[1].position(("tip",)) == (3, 6)


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café".encode("latin-1"))

    documents, problems = read_documents(path)

    assert documents == []
    assert problems == [Problem(path, 0, 0, "cannot read the file: it is not UTF-8 text")]


def test_positions_follow_keys_and_items_and_skip_union_tags(tmp_path: Path) -> None:
    documents, _ = read(tmp_path, "steps:\n  - email: welcome\n  - wait: 2d\n")
    document = documents[0]

    assert document.position(("<flow>", "steps", 1, "<wait>", "wait")) == (3, 11)
    assert document.position(("steps", 1, "wait"), at_key=True) == (3, 5)
    assert document.position(("steps", 7)) == (2, 3)  # out of range stays on the list
    assert document.position(("steps", 0, "email", "[key]")) == (2, 5)


def test_an_alias_containing_itself_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "steps: &loop [*loop]\n")

    assert [p.format(tmp_path) for p in problems] == [
        "file.yaml:1:8: nested more than 50 levels deep (does an alias contain itself?)"
    ]


def test_absurd_nesting_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")

    assert [p.format(tmp_path) for p in problems] == [
        "file.yaml: invalid YAML: nested more than 50 levels deep (does an alias contain itself?)"
    ]
