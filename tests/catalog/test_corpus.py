"""A corpus of broken content, one directory per mistake a real author makes.

Each case directory is laid over `_base/` (a small valid catalog) and holds an
`expected.txt`: the exact `path:line:column: message` lines `load_catalog` must report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.catalog import load_catalog

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))


def content_for(case: str, target: Path) -> Path:
    shutil.copytree(CORPUS / "_base", target, dirs_exist_ok=True)
    ignore = shutil.ignore_patterns("expected.txt")
    shutil.copytree(CORPUS / case, target, dirs_exist_ok=True, ignore=ignore)
    return target


def test_the_base_catalog_is_valid() -> None:
    catalog, problems = load_catalog(CORPUS / "_base")

    assert problems == []
    assert catalog is not None


def test_the_corpus_covers_at_least_25_mistakes() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES)
def test_each_mistake_is_reported_at_its_place(case: str, tmp_path: Path) -> None:
    expected = (CORPUS / case / "expected.txt").read_text(encoding="utf-8").splitlines()

    catalog, problems = load_catalog(content_for(case, tmp_path))

    assert catalog is None
    assert [problem.format(tmp_path) for problem in problems] == expected
