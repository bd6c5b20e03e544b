"""Content in the profile's language: emails, tips and tutorials, with fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.catalog.catalog import Catalog, load_catalog
from engine.testing import Simulation
from tests.flows.content import content_with

POWER = {"first_name": "Camille", "role": "founder", "email_experience": "expert"}


@pytest.fixture
def sim(example_catalog: Catalog) -> Iterator[Simulation]:
    with Simulation(example_catalog) as simulation:
        yield simulation


@pytest.mark.parametrize(
    ("locale", "subject"),
    [
        ("fr", "Bienvenue sur Postwave, Camille"),
        ("fr-CA", "Bienvenue sur Postwave, Camille"),
        ("fr_FR", "Bienvenue sur Postwave, Camille"),
        ("de", "Welcome to Postwave, Camille"),
        (None, "Welcome to Postwave, Camille"),
    ],
)
def test_email_follows_the_locale_trait_with_fallback(
    sim: Simulation, locale: str | None, subject: str
) -> None:
    traits = POWER | {"email": "c@atelier.example"} | ({"locale": locale} if locale else {})
    sim.identify("c", **traits)
    sim.track("c", "signed_up")
    assert sim.emails("c")[0]["Subject"] == subject


def test_tips_are_translated(sim: Simulation) -> None:
    sim.identify("c", **POWER, locale="fr")
    sim.track("c", "signed_up")
    (tip,) = [i for i in sim.inapp("c") if i["name"] == "keyboard-shortcuts"]
    assert tip["title"] == "Allez plus vite avec les raccourcis"
    assert tip["target"] == "#help-menu"


def test_a_translation_without_its_original_is_refused(tmp_path: Path) -> None:
    content = content_with(
        tmp_path / "c", f="flow: f\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
    )
    emails = content / "templates" / "emails"
    (emails / "promo.fr.html.j2").write_text("<p>Promo</p>")
    (emails / "promo.fr.yaml").write_text("subject: Promo\npreview: {traits: {}}\n")
    catalog, problems = load_catalog(content)
    assert catalog is None
    assert [p.message for p in problems] == [
        "'promo.fr' translates 'promo', but there is no promo.html.j2"
    ]


def test_tutorial_translations_must_match_its_steps(tmp_path: Path) -> None:
    content = content_with(
        tmp_path / "c", f="flow: f\ntrigger: {event: go}\nsteps: [{tutorial: tour}]\n"
    )
    inapp = content / "flows" / "inapp.yaml"
    inapp.write_text(
        inapp.read_text().replace(
            "    body: Click to begin.\n",
            "    body: Click to begin.\ntranslations:\n  fr:\n    title: Visite\n    steps: []\n",
        )
    )
    catalog, problems = load_catalog(content)
    assert catalog is None
    assert "translation 'fr' has 0 steps; the tutorial has 1" in problems[0].message
