"""Typed onboarding content: stages, persona segments, flows, in-app messages and emails,
loaded from files with every problem reported as `path:line:column: message`.

    catalog, problems = load_catalog(Path("content"))   # catalog is None if problems

The models live in `conditions` (the condition language), `steps` (flow steps),
`definitions` (flows, segments, stages, tutorials, tips, endpoints) and `templates`
(emails and the shared sandboxed Jinja2 environment).
"""

from engine.catalog.catalog import Catalog, load_catalog
from engine.catalog.conditions import Condition
from engine.catalog.definitions import Endpoint, Flow, Segment, Stage, Tip, Tutorial
from engine.catalog.problems import Problem
from engine.catalog.steps import Step
from engine.catalog.templates import EmailTemplate, RenderedEmail, render_email

__all__ = [
    "Catalog",
    "Condition",
    "EmailTemplate",
    "Endpoint",
    "Flow",
    "Problem",
    "RenderedEmail",
    "Segment",
    "Stage",
    "Step",
    "Tip",
    "Tutorial",
    "load_catalog",
    "render_email",
]
