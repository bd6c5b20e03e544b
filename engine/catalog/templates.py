"""Email templates and the one Jinja2 environment every email is rendered with.

Content is untrusted at render time, so the environment is sandboxed (no attribute tricks
reach Python internals), autoescapes HTML parts (`*.html.j2`; subjects and text parts are
plain text), and uses `StrictUndefined`: a misspelt variable fails `parcours validate` when
the preview profile is rendered, instead of reaching an inbox as an empty string. The channels
render with the same environment, so what was validated is what is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field

from engine.catalog.fields import Definition, Text


class PreviewProfile(Definition):
    """A made-up profile to render a template with at validation time."""

    user_id: Text = "preview-user"
    traits: Mapping[str, Any] = Field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        return render_context(self.user_id, self.traits)


class TemplateMeta(Definition):
    """The sidecar `<name>.yaml` next to `<name>.html.j2`: what is not HTML."""

    subject: Text
    preview: PreviewProfile


@dataclass(frozen=True)
class EmailTemplate:
    """One email: a subject template, an HTML part and an optional text part (file names
    in the environment), and the preview profile it was validated with."""

    name: str
    subject: str
    html: str
    text: str | None
    preview: PreviewProfile


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str | None


class _SourceLoader(BaseLoader):
    """Serves templates from memory, naming each by its file name so that Jinja's rewritten
    tracebacks say which file (and line) a render error came from."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = dict(sources)

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if template not in self._sources:
            raise TemplateNotFound(template)
        return self._sources[template], template, lambda: True


def email_environment(sources: Mapping[str, str]) -> SandboxedEnvironment:
    """The sandboxed environment over the template files (`welcome.html.j2` -> source)."""
    return SandboxedEnvironment(
        loader=_SourceLoader(sources),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_context(user_id: str, traits: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a template sees: `user_id` and `traits`."""
    return {"user_id": user_id, "traits": traits}


_SUBJECTS: dict[tuple[int, str], Any] = {}


def _subject(environment: Environment, source: str) -> Any:
    """Subjects are short templates compiled once per environment (compiling costs ~1 ms)."""
    key = (id(environment), source)
    compiled = _SUBJECTS.get(key)
    if compiled is None:
        if len(_SUBJECTS) > 4096:
            _SUBJECTS.clear()
        compiled = _SUBJECTS[key] = environment.from_string(source)
    return compiled


def render_email(
    environment: Environment, template: EmailTemplate, context: Mapping[str, Any]
) -> RenderedEmail:
    """Render all parts of one email. Raises Jinja errors; `validate` has already rendered
    the preview profile, so a failure here means the real profile lacks a variable."""
    subject = _subject(environment, template.subject).render(context)
    html = environment.get_template(template.html).render(context)
    text = environment.get_template(template.text).render(context) if template.text else None
    return RenderedEmail(subject=" ".join(subject.split()), html=html, text=text)
