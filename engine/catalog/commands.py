"""`parcours validate`: check a content directory, print every problem, exit 0 or 1.

Text output is one `path:line:column: message` per line on stdout, the shape editors and CI
annotators parse, with a one-line summary on stderr; `json` prints one object for tools.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.catalog.catalog import Catalog, load_catalog
from engine.catalog.problems import Problem, relative_path


def validate(directory: Path, output_format: str = "text") -> int:
    """Validate `directory`; paths are printed relative to the current directory."""
    if output_format not in ("text", "json"):
        raise ValueError(f"unknown output format {output_format!r}: use text or json")
    catalog, problems = load_catalog(directory)
    if output_format == "json":
        sys.stdout.write(json.dumps(_report(catalog, problems), indent=2) + "\n")
    else:
        for problem in problems:
            sys.stdout.write(problem.format(Path.cwd()) + "\n")
        sys.stderr.write(_summary(catalog, problems) + "\n")
    return 0 if catalog is not None else 1


def _report(catalog: Catalog | None, problems: list[Problem]) -> dict[str, object]:
    return {
        "valid": catalog is not None,
        "problems": [
            {
                "path": str(relative_path(problem.path, Path.cwd())),
                "line": problem.line,
                "column": problem.column,
                "message": problem.message,
            }
            for problem in problems
        ],
        "counts": _counts(catalog) if catalog is not None else {},
    }


def _counts(catalog: Catalog) -> dict[str, int]:
    return {
        "stages": len(catalog.stages),
        "segments": len(catalog.segments),
        "flows": len(catalog.flows),
        "templates": len(catalog.templates),
        "tutorials": len(catalog.tutorials),
        "tips": len(catalog.tips),
        "endpoints": len(catalog.endpoints),
    }


def _summary(catalog: Catalog | None, problems: list[Problem]) -> str:
    if catalog is None:
        return f"{len(problems)} problem{'s' * (len(problems) != 1)} found"
    counts = _counts(catalog).items()
    return "content is valid: " + ", ".join(
        f"{n} {kind[: -1 if n == 1 else None]}" for kind, n in counts
    )
