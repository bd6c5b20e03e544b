"""The catalog: a content directory loaded, validated and cross-checked as a whole.

Loading never stops at the first mistake: every stage of it (YAML syntax, schema, template
compilation and preview, cross-references) adds to one list of problems, and a catalog is
returned only when that list is empty, so nothing half-valid ever runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from engine.catalog.checks import check_catalog, names_of, order_segments
from engine.catalog.collect import Definitions, collect
from engine.catalog.definitions import (
    Endpoint,
    Flow,
    GlobalHoldout,
    Segment,
    Stage,
    Tip,
    Tutorial,
)
from engine.catalog.problems import Problem
from engine.catalog.references import ModelShape
from engine.catalog.template_files import EmailFiles, load_templates
from engine.catalog.templates import EmailTemplate, email_environment
from engine.ml.artifacts import LoadedModels, load_models
from engine.ml.predict import LoadedModel, PersonaModel


@dataclass(frozen=True, eq=False)
class Catalog:
    """Everything the content defines, read-only.

    `stages` are in catalog order (ordered stages follow each other); `segments` are in
    evaluation order, each after the segments its condition uses.
    """

    stages: tuple[Stage, ...]
    segments: Mapping[str, Segment]
    flows: Mapping[str, Flow]
    templates: Mapping[str, EmailTemplate]
    tutorials: Mapping[str, Tutorial]
    tips: Mapping[str, Tip]
    endpoints: Mapping[str, Endpoint]
    email_environment: SandboxedEnvironment = field(repr=False)
    # Each flow's document as plain data: what a flow run stores to keep its version.
    flow_sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    # The global onboarding holdout (flows/holdout.yaml), if the content defines one.
    holdout: GlobalHoldout | None = None
    # Models under segments/models/, checked, by `name@version` (see engine.ml.artifacts).
    models: Mapping[str, LoadedModel] = field(default_factory=dict, repr=False)
    # Where date traits of profiles without a `timezone` trait are placed
    # (PARCOURS_DEFAULT_TIMEZONE, set by `load_live_catalog`).
    default_timezone: str = "UTC"

    def priority_of(self, flow: str) -> int:
        """A flow's priority under the frequency cap (0 for a flow no longer in the content)."""
        found = self.flows.get(flow)
        return found.priority if found is not None else 0


def load_catalog(content_dir: Path) -> tuple[Catalog | None, list[Problem]]:
    """The catalog of `content_dir`, or None and every problem found, sorted by place."""
    if not content_dir.is_dir():
        return None, [Problem(content_dir, 0, 0, "not a directory")]
    definitions, problems = collect(content_dir)
    emails, found = load_templates(content_dir)
    problems.extend(found)
    models = load_models(content_dir)
    problems.extend(Problem(p.path, 0, 0, p.message) for p in models.problems)
    names = names_of(definitions, emails.names, _model_shapes(models))
    problems.extend(check_catalog(definitions, names))
    if not problems and _is_empty(definitions, emails):
        message = "no content found: expected flows/, segments/ or templates/emails/"
        problems.append(Problem(content_dir, 0, 0, message))
    if problems:
        return None, sorted(set(problems))
    return _build(definitions, emails, models.models), []


def _is_empty(definitions: Definitions, emails: EmailFiles) -> bool:
    return not (definitions.stages or definitions.segments or definitions.flows or emails.names)


def _model_shapes(models: LoadedModels) -> dict[str, dict[int, ModelShape | None]]:
    shapes: dict[str, dict[int, ModelShape | None]] = {
        name: dict.fromkeys(versions) for name, versions in models.found.items()
    }
    for model in models.models.values():
        clusters = model.clusters if isinstance(model, PersonaModel) else 0
        shapes[model.name][model.version] = ModelShape(model.kind, clusters)
    return shapes


def _build(
    definitions: Definitions, emails: EmailFiles, models: Mapping[str, LoadedModel] | None = None
) -> Catalog:
    segments = {name: located.value for name, located in definitions.segments.items()}
    order, _ = order_segments(segments)
    return Catalog(
        stages=tuple(located.value for located in definitions.stages),
        segments={name: segments[name] for name in order},
        flows={name: located.value for name, located in definitions.flows.items()},
        templates=dict(emails.templates),
        tutorials={name: located.value for name, located in definitions.tutorials.items()},
        tips={name: located.value for name, located in definitions.tips.items()},
        endpoints={name: located.value for name, located in definitions.endpoints.items()},
        email_environment=email_environment(emails.sources),
        flow_sources={name: located.document.data for name, located in definitions.flows.items()},
        holdout=definitions.holdout.value if definitions.holdout else None,
        models=dict(models or {}),
    )


CONTENT_FOLDERS = ("flows", "segments", "templates")


def empty_catalog() -> Catalog:
    """A catalog with no content: ingestion and profiles work, nothing is evaluated or sent."""
    return Catalog(
        stages=(),
        segments={},
        flows={},
        templates={},
        tutorials={},
        tips={},
        endpoints={},
        email_environment=email_environment({}),
    )


def load_live_catalog(
    content_dir: Path, default_timezone: str = "UTC"
) -> tuple[Catalog | None, list[Problem]]:
    """The catalog the engine runs: empty when the directory holds no content folders at
    all (an ingestion-only deployment), otherwise loaded and validated in full."""
    if not any((content_dir / name).is_dir() for name in CONTENT_FOLDERS):
        return replace(empty_catalog(), default_timezone=default_timezone), []
    catalog, problems = load_catalog(content_dir)
    if catalog is None:
        return None, problems
    return replace(catalog, default_timezone=default_timezone), problems
