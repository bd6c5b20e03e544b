"""parcours.js in real Chromium: the sample SaaS app (engine/demo/app) on its own origin,
Parcours under uvicorn. Each test checks what the page shows and what Parcours stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.flows.repository import inapp_items
from tests.browser.conftest import (
    APP_DIR,
    app_url,
    eventually,
    parcours_server,
    send_event,
    static_site,
    stored_events,
)

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"])]
CARD = "#parcours-root >> [role=dialog]"  # Playwright's CSS pierces the open shadow root


@pytest.fixture
def site() -> Iterator[str]:
    with static_site(APP_DIR) as origin:
        yield origin


@pytest.fixture
def base(
    site: str, settings: Settings, db_engine: Engine, clock: FrozenClock, inapp_catalog: Catalog
) -> Iterator[str]:
    with parcours_server(settings, db_engine, clock, inapp_catalog, site) as url:
        yield url


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


def named(engine: Engine, user: str, event: str) -> list[dict[str, Any]]:
    return [e for e in stored_events(engine, user) if e["name"] == event]


def status_of(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        query = select(inapp_items.c.status).where(inapp_items.c.name == name)
        return str(conn.execute(query).scalar_one())


def box(tab: Any, selector: str) -> dict[str, float]:
    found: dict[str, float] = tab.locator(selector).bounding_box()
    return found


def beside(card: dict[str, float], target: dict[str, float]) -> bool:
    """The card's edge 10 px below or above its target, overlapping it horizontally."""
    below = abs(card["y"] - (target["y"] + target["height"] + 10)) <= 1
    above = abs(card["y"] + card["height"] - (target["y"] - 10)) <= 1
    across = card["x"] < target["x"] + target["width"] and target["x"] < card["x"] + card["width"]
    return (below or above) and across


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colours(locator: Any) -> tuple[str, str]:
    return locator.evaluate(  # type: ignore[no-any-return]
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )


def test_a_tutorial_walks_step_by_step(
    tab: Any, site: str, base: str, settings: Settings, db_engine: Engine
) -> None:
    send_event(base, "ada", "signed_up")
    tab.goto(app_url(site, base, settings, "ada"))
    tab.wait_for_function("window.Parcours !== undefined")
    tab.click("#automations")  # an SPA navigation: the items are fetched again
    send_event(base, "ada", "tour_requested")
    tab.evaluate("Parcours.refresh()")
    card = tab.locator(CARD)
    assert card.locator("h2").inner_text() == "Start a campaign"
    assert card.locator(".progress").inner_text() == "1 of 3"
    assert beside(box(tab, CARD), box(tab, "#new-campaign"))
    labelled = card.get_attribute("aria-labelledby")
    assert tab.locator(f"#parcours-root >> #{labelled}").inner_text() == "Start a campaign"
    focused = tab.evaluate(
        "document.getElementById('parcours-root').shadowRoot.activeElement.textContent"
    )
    assert focused == "Next"
    # The host page's `button {font-size: 30px; background: #f0f}` does not reach the card.
    font = card.locator("button.primary").evaluate("b => getComputedStyle(b).fontSize")
    assert font == "14px"
    assert contrast(*colours(card)) >= 4.5
    assert contrast(*colours(card.locator("button.primary"))) >= 4.5

    card.locator("button.primary").click()
    assert card.locator(".progress").inner_text() == "2 of 3"
    assert beside(box(tab, CARD), box(tab, "#templates"))
    card.locator("button.primary").click()
    assert card.locator(".progress").inner_text() == "3 of 3"
    assert card.locator("button.primary").inner_text() == "Done"
    send = box(tab, "#send-button")
    assert 0 <= send["y"] <= 800  # scrolled into view
    assert beside(box(tab, CARD), send)
    tab.mouse.wheel(0, -200)  # the card follows its target
    assert eventually(lambda: beside(box(tab, CARD), box(tab, "#send-button")) or None)
    card.locator("button", has_text="Back").click()
    assert card.locator(".progress").inner_text() == "2 of 3"

    tab.locator("#automations").focus()
    card.locator("button.primary").focus()
    tab.keyboard.press("Escape")
    assert tab.locator(CARD).count() == 0
    assert tab.evaluate("document.activeElement.id") == "automations"

    assert eventually(lambda: status_of(db_engine, "app-tour") == "dismissed" or None)

    def four_steps() -> list[dict[str, Any]] | None:
        found = named(db_engine, "ada", "tutorial_step_viewed")
        return found if len(found) == 4 else None

    viewed = eventually(four_steps)
    assert [e["properties"]["step_index"] for e in viewed] == [0, 1, 2, 1]
    assert {e["properties"]["tutorial"] for e in viewed} == {"app-tour"}
    assert len(named(db_engine, "ada", "tutorial_seen")) == 1
    assert len(named(db_engine, "ada", "tutorial_dismissed")) == 1
    pages = [
        e["properties"]["path"] for e in stored_events(db_engine, "ada") if e["type"] == "page"
    ]
    assert pages == ["/index.html", "/automations"]
    assert tab.errors == []


def test_tips_anchored_or_as_a_banner(
    tab: Any, site: str, base: str, settings: Settings, db_engine: Engine
) -> None:
    send_event(base, "bo", "shortcuts_requested")
    send_event(base, "bo", "news_requested")
    tab.goto(app_url(site, base, settings, "bo"))
    card = tab.locator(CARD)
    assert card.locator("h2").inner_text() == "Work faster with shortcuts"
    assert beside(box(tab, CARD), box(tab, "#help-menu"))
    card.locator("button.close").click()
    assert card.locator("h2").inner_text() == "New in Postwave"
    assert box(tab, CARD)["y"] == 12  # no target: a banner at the top
    card.locator("button", has_text="Got it").click()
    assert eventually(lambda: tab.locator(CARD).count() == 0 or None)
    assert eventually(lambda: status_of(db_engine, "news") == "completed" or None)
    assert status_of(db_engine, "shortcuts") == "dismissed"
    assert len(named(db_engine, "bo", "tip_dismissed")) == 1
    assert named(db_engine, "bo", "tip_completed")[0]["properties"]["item"] == "news"
    assert tab.errors == []


def test_a_missing_anchor_is_reported_with_page_and_selector(
    tab: Any, site: str, base: str, settings: Settings, db_engine: Engine
) -> None:
    send_event(base, "cy", "ghost_requested")
    tab.goto(app_url(site, base, settings, "cy", anchor="400"))
    reported = eventually(lambda: named(db_engine, "cy", "anchor_missing"))
    assert reported[0]["properties"] == {
        "item": "ghost",
        "item_id": reported[0]["properties"]["item_id"],
        "kind": "tip",
        "step_index": None,
        "selector": "#missing",
        "page": "/index.html",
    }
    assert tab.locator(CARD).count() == 0
    assert status_of(db_engine, "ghost") == "pending"


def test_events_sent_just_before_leaving_arrive(
    tab: Any, site: str, base: str, settings: Settings, db_engine: Engine
) -> None:
    tab.goto(app_url(site, base, settings, "di"))
    tab.click("#new-campaign")  # Parcours.track("campaign_created"), queued for a second
    tab.goto("about:blank")
    created = eventually(lambda: named(db_engine, "di", "campaign_created"))
    assert created[0]["properties"] == {"from": "home"}
    assert created[0]["context"]["library"]["name"] == "parcours.js"


def test_parcours_down_never_breaks_the_page(
    tab: Any,
    site: str,
    settings: Settings,
    db_engine: Engine,
    clock: FrozenClock,
    inapp_catalog: Catalog,
) -> None:
    with parcours_server(settings, db_engine, clock, inapp_catalog, site) as base:
        tab.goto(app_url(site, base, settings, "ed"))
        tab.wait_for_function("window.Parcours !== undefined")
    rejected: list[str] = []
    tab.on(
        "console",
        lambda message: (
            rejected.append(message.text)
            if message.type == "error" and "Uncaught" in message.text
            else None
        ),
    )
    tab.evaluate(
        "addEventListener('unhandledrejection', e => { window.__rejected = String(e.reason) })"
    )
    tab.click("#new-campaign")
    tab.click("#templates")  # navigation: a page call and an items fetch, both failing
    tab.evaluate("Parcours.identify('ed', 'bad-hash'); Parcours.refresh(); Parcours.flush()")
    tab.wait_for_function(
        "performance.getEntriesByType('resource').some(r => r.name.includes('/v1/inapp/'))"
    )
    extra = tab.evaluate(
        """() => {
            const frame = document.createElement('iframe');
            document.body.appendChild(frame);
            const own = new Set(Object.getOwnPropertyNames(frame.contentWindow));
            frame.remove();
            return Object.getOwnPropertyNames(window).filter(k => !own.has(k) && !/^\\d+$/.test(k));
        }"""
    )
    assert extra == ["Parcours"]
    assert tab.locator("#view").inner_text() == "Templates"
    assert tab.evaluate("window.__rejected === undefined")
    assert tab.errors == []
    assert rejected == []
