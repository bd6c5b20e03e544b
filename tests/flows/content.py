"""Small content directories for runtime tests: the corpus base catalog plus given flows."""

from __future__ import annotations

import shutil
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent / "catalog" / "corpus" / "_base"


def content_with(target: Path, **flows: str) -> Path:
    """`target` holding the base stages, personas, templates and in-app items, and `flows`
    (name -> YAML text) instead of the base flow."""
    shutil.copytree(BASE, target, dirs_exist_ok=True)
    (target / "flows" / "onboarding.yaml").unlink()
    for name, text in flows.items():
        (target / "flows" / f"{name}.yaml").write_text(text)
    return target
