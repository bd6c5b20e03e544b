"""Whatever an author writes, loading reports problems and never raises."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog import load_catalog
from engine.catalog.definitions import DOCUMENT_KINDS
from engine.catalog.steps import STEP_KINDS

BASE = Path(__file__).parent / "corpus" / "_base"
KEYS = st.sampled_from(
    (
        *DOCUMENT_KINDS,
        *STEP_KINDS,
        "trigger",
        "steps",
        "when",
        "all",
        "any",
        "not",
        "trait",
        "equals",
        "in",
        "within",
        "where",
        "stage",
        "priority",
        "goal",
        "experiment",
        "variants",
        "timeout",
        "engaged",
        "id",
        "else",
        "then",
    )
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 200),
    st.sampled_from(("2d", "welcome", "signup", "beginner", "Bad Name", "", "x" * 50)),
)
DATA: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, database=None)
@given(st.sampled_from(("flows", "segments")), DATA)
def test_any_yaml_document_gives_problems_not_exceptions(home: str, data: Any) -> None:
    with tempfile.TemporaryDirectory() as directory:
        content = Path(directory)
        shutil.copytree(BASE, content, dirs_exist_ok=True)
        (content / home / "fuzz.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

        catalog, problems = load_catalog(content)

    assert (catalog is None) == bool(problems)
    assert all(problem.line >= 0 and problem.column >= 0 for problem in problems)


@settings(max_examples=100, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from("ab:-{}[]#!&*|>'\"\t\n ")))
def test_any_text_gives_problems_not_exceptions(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        content = Path(directory)
        shutil.copytree(BASE, content, dirs_exist_ok=True)
        (content / "flows" / "fuzz.yaml").write_text(text, encoding="utf-8")

        catalog, problems = load_catalog(content)

    assert (catalog is None) == bool(problems)
