"""The shared email environment: sandboxed, HTML autoescaped, undefined variables fatal."""

from __future__ import annotations

import jinja2
import pytest
from jinja2.sandbox import SecurityError

from engine.catalog.templates import (
    EmailTemplate,
    PreviewProfile,
    RenderedEmail,
    email_environment,
    render_context,
    render_email,
)

SOURCES = {
    "_layout.html.j2": "<main>{% block body %}{% endblock %}</main>",
    "note.html.j2": (
        '{% extends "_layout.html.j2" %}{% block body %}{{ traits.name }}{% endblock %}'
    ),
    "note.txt.j2": "Hi {{ traits.name }}",
}
NOTE = EmailTemplate(
    name="note",
    subject="For   {{ traits.name }}\n",
    html="note.html.j2",
    text="note.txt.j2",
    preview=PreviewProfile(),
)


def test_html_is_escaped_but_subject_and_text_are_not() -> None:
    email = render_email(
        email_environment(SOURCES), NOTE, render_context("u1", {"name": "<Ben & Jo>"})
    )

    assert email == RenderedEmail(
        subject="For <Ben & Jo>",
        html="<main>&lt;Ben &amp; Jo&gt;</main>",
        text="Hi <Ben & Jo>",
    )


def test_a_missing_variable_fails_instead_of_rendering_empty() -> None:
    with pytest.raises(jinja2.UndefinedError, match="has no attribute 'name'"):
        render_email(email_environment(SOURCES), NOTE, render_context("u1", {}))


def test_templates_cannot_reach_python_internals() -> None:
    environment = email_environment({"x.html.j2": "{{ user_id.__class__.__mro__ }}"})

    with pytest.raises(SecurityError):
        environment.get_template("x.html.j2").render(render_context("u1", {}))
