"""Reads `flows/` and `segments/` into validated definitions indexed by kind and name.

Duplicate names are reported here, as is a definition in the wrong directory. Names are
also gathered from documents that failed validation (`declared`), so that references to a
broken definition are not reported as unknown on top of its own problems.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalog.definitions import (
    DOCUMENT_KINDS,
    Document,
    Endpoint,
    Flow,
    GlobalHoldout,
    Segment,
    Stage,
    Stages,
    Tip,
    Tutorial,
)
from engine.catalog.errors import validate_document
from engine.catalog.problems import Problem, relative_path
from engine.catalog.yamlfile import Located, YamlDocument, read_documents

HOMES = {
    "flows": ("flow", "tutorial", "tip", "endpoint", "holdout"),
    "segments": ("stages", "segment"),
}


@dataclass
class Definitions:
    """Every valid definition of a content directory, where it was read from."""

    content_dir: Path
    stages: list[Located[Stage]] = field(default_factory=list)
    segments: dict[str, Located[Segment]] = field(default_factory=dict)
    flows: dict[str, Located[Flow]] = field(default_factory=dict)
    tutorials: dict[str, Located[Tutorial]] = field(default_factory=dict)
    tips: dict[str, Located[Tip]] = field(default_factory=dict)
    endpoints: dict[str, Located[Endpoint]] = field(default_factory=dict)
    holdout: Located[GlobalHoldout] | None = None
    declared: dict[str, set[str]] = field(default_factory=dict)
    stages_document: YamlDocument | None = None


def collect(content_dir: Path) -> tuple[Definitions, list[Problem]]:
    definitions, problems = Definitions(content_dir), []
    for home in HOMES:
        for path in _yaml_files(content_dir / home):
            documents, read_problems = read_documents(path)
            problems.extend(read_problems)
            # A value the YAML reader already refused (a custom tag) fails the schema too;
            # the reader's problem says why, so the schema's at the same place is dropped.
            refused = {(problem.line, problem.column) for problem in read_problems}
            for document in documents:
                _declare(document.data, definitions.declared)
                value, found = validate_document(document, Document)
                problems.extend(p for p in found if (p.line, p.column) not in refused)
                if value is not None:
                    problems.extend(_add(definitions, home, Located(value, document)))
    return definitions, problems


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _add(definitions: Definitions, home: str, located: Located[Any]) -> Iterator[Problem]:
    kind = type(located.value).kind
    if kind not in HOMES[home]:
        other = next(name for name, kinds in HOMES.items() if kind in kinds)
        yield located.problem((), f"a {kind} belongs in {other}/, not {home}/")
        return
    match located.value:
        case Stages():
            yield from _add_stages(definitions, located)
        case Flow():
            yield from _register(definitions, definitions.flows, located, "flow")
        case Segment():
            yield from _register(definitions, definitions.segments, located, "segment")
        case Tutorial():
            yield from _register(definitions, definitions.tutorials, located, "tutorial")
        case Tip():
            yield from _register(definitions, definitions.tips, located, "tip")
        case Endpoint():
            yield from _register(definitions, definitions.endpoints, located, "endpoint")
        case GlobalHoldout():
            yield from _add_holdout(definitions, located)


def _add_holdout(definitions: Definitions, located: Located[GlobalHoldout]) -> Iterator[Problem]:
    """One global holdout: two would hold out two different sets of profiles."""
    first = definitions.holdout
    if first is not None:
        where = _where(definitions, first.document, (), located.document)
        yield located.problem(("holdout",), f"a global holdout is already defined at {where}")
    else:
        definitions.holdout = located


def _add_stages(definitions: Definitions, located: Located[Stages]) -> Iterator[Problem]:
    if definitions.stages_document is not None:
        where = _where(definitions, definitions.stages_document, (), located.document)
        yield located.problem((), f"stages are already defined at {where}; keep one stage list")
        return
    definitions.stages_document = located.document
    seen: dict[str, Located[Stage]] = {}
    for index, stage in enumerate(located.value.stages):
        entry = Located(stage, located.document, ("stages", index))
        yield from _register(definitions, seen, entry, "stage")
    definitions.stages = list(seen.values())


def _register(
    definitions: Definitions, table: dict[str, Any], located: Located[Any], key: str
) -> Iterator[Problem]:
    name = located.value.name
    if name in table:
        first = table[name]
        where = _where(definitions, first.document, first.loc, located.document)
        yield located.problem((key,), f"duplicate {key} '{name}' (first defined at {where})")
    else:
        table[name] = located


def _where(
    definitions: Definitions, document: YamlDocument, loc: tuple[Any, ...], seen_from: YamlDocument
) -> str:
    """`line 3` in the same file, `segments/x.yaml:3` from another one."""
    line = document.position(loc)[0]
    if document.path == seen_from.path:
        return f"line {line}"
    return f"{relative_path(document.path, definitions.content_dir)}:{line}"


def _declare(data: Any, declared: dict[str, set[str]]) -> None:
    if not isinstance(data, dict):
        return
    for kind in DOCUMENT_KINDS:
        if isinstance(data.get(kind), str):
            declared.setdefault(kind, set()).add(data[kind])
    stages = data.get("stages")
    for item in stages if isinstance(stages, tuple) else ():
        if isinstance(item, dict) and isinstance(item.get("stage"), str):
            declared.setdefault("stage", set()).add(item["stage"])
