"""The storage bounds of message values, as plain values (no database)."""

from __future__ import annotations

import json
from typing import Any

from engine.ingest.values import MAX_DEPTH, as_dead_letter, ascii_json, body_text, find_problem


def nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def test_depth_is_bounded_at_max_depth_levels() -> None:
    assert find_problem(nest(MAX_DEPTH)) is None
    found = find_problem(nest(MAX_DEPTH + 1))
    assert found == (["a"] * MAX_DEPTH, f"nests objects and arrays deeper than {MAX_DEPTH} levels")


def test_the_path_names_list_positions_and_escaped_keys() -> None:
    value = {"ok": [1, "fine", {"k\x00": 2}]}
    reason = "the key contains a NUL character (\\u0000)"
    assert find_problem(value) == (["ok", 2, "k\\u0000"], reason)
    assert find_problem({"s": ["\ud800"]}) == (
        ["s", 0],
        "contains a lone surrogate (\\ud800-\\udfff), which is not Unicode text",
    )
    assert find_problem({"x": float("nan")}) == (["x"], "must be a finite number")
    assert find_problem({"x": 1e308, "y": "漢字 👍", "z": 2**70, "w": None}) is None


def test_a_dead_letter_is_json_when_it_can_be_and_ascii_text_otherwise() -> None:
    assert as_dead_letter({"a": [1]}) == ({"a": [1]}, None)
    payload, raw = as_dead_letter({"k": "\x00\ud800", "n": float("inf")})
    assert payload is None
    assert raw == '{"k":"\\u0000\\ud800","n":Infinity}'


def test_ascii_json_writes_what_json_dumps_writes() -> None:
    value = {"a": [1, 2.5, None, True, {"é": "漢\x00", "": []}], "b": {}, "c": "👍"}
    assert ascii_json(value) == json.dumps(value, separators=(",", ":"))


def test_ascii_json_writes_what_json_dumps_cannot_nest() -> None:
    deep = nest(1000)
    assert ascii_json(deep) == '{"a":' * 1000 + "1" + "}" * 1000


def test_body_text_has_no_nul_and_no_bad_utf8() -> None:
    assert body_text(b"a\x00b\xff") == "a\ufffdb\ufffd"
