"""The example content shipped in the repository (what `parcours demo` runs) is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import Catalog, load_catalog
from engine.catalog.templates import render_context, render_email

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    catalog, problems = load_catalog(REPOSITORY)
    assert [problem.format(REPOSITORY) for problem in problems] == []
    assert catalog is not None
    return catalog


def test_example_content_has_the_default_stage_catalog(catalog: Catalog) -> None:
    assert [stage.stage for stage in catalog.stages] == [
        "discovery",
        "signup",
        "first_login",
        "activation",
        "exploration",
        "integration",
    ]


def test_example_content_has_the_personas_and_flows_of_the_demo(catalog: Catalog) -> None:
    assert set(catalog.segments) == {
        "beginner_marketer",
        "power_user",
        "team_admin",
        "trial_evaluator",
    }
    assert set(catalog.flows) == {
        "welcome",
        "activation-rescue",
        "feature-exploration",
        "integration-nudge",
        "feedback-request",
    }


@pytest.mark.parametrize(
    "name",
    [
        "welcome",
        "invite-your-team",
        "need-a-hand",
        "finish-your-campaign",
        "connect-your-tools",
        "feedback-request",
    ],
)
def test_example_emails_render_for_a_profile_without_traits(catalog: Catalog, name: str) -> None:
    email = render_email(
        catalog.email_environment, catalog.templates[name], render_context("u1", {})
    )

    assert email.subject
    assert "<p>Hi there,</p>" in email.html
    assert email.text is None or "Hi there," in email.text
