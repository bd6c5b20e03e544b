"""The dashboard in a real browser: headless Chromium, driven by Playwright, against uvicorn.

The population is written through the pipeline, the app runs under a real server, and the
browser logs in through the form, visits every page and reads the numbers a person would
see; each must equal a plain SQL count. A full-page screenshot of every page is saved under
artifacts/screenshots/ for a human look. SQLite only: the aggregates themselves are checked
on both backends in test_aggregates.py.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from playwright import sync_api
from sqlalchemy import Engine, text

from engine.web.export import safe_cell
from tests.conftest import ADMIN_KEY, ROOT
from tests.support.chromium import ARGS, CHROMIUM
from tests.support.server import live_server

SHOTS = ROOT / "artifacts" / "screenshots"

# Debian's chromium is installed by `.ci/ensure-chromium` (run by `make test`); a missing
# browser fails the suite rather than skipping the dashboard's browser tests.
pytestmark = [pytest.mark.parametrize("backend", ["sqlite"])]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def site(populated: Engine, dashboard: FastAPI) -> Iterator[str]:
    with live_server(dashboard) as base:
        yield base


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=site)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def probe(browser: Any, site: str) -> Iterator[Any]:
    """A tab that may inject test code (axe-core, a style) despite the pages' CSP."""
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, base_url=site, bypass_csp=True
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def number(value: str) -> int:
    return int(value.split()[0].replace(",", ""))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Any, key: str = ADMIN_KEY) -> None:
    page.fill("#admin_key", key)
    page.click("button[type=submit]")


def test_login_form_refuses_a_wrong_key(page: Any) -> None:
    page.goto("/dashboard/funnel")
    assert "/dashboard/login" in page.url
    shot(page, "login")
    log_in(page, "wrong-key")
    assert page.inner_text("[role=alert]") == "That is not the admin key."
    log_in(page)
    assert page.url.endswith("/dashboard/funnel")


def test_every_page_shows_the_database_numbers(page: Any, populated: Engine) -> None:
    page.goto("/dashboard")
    log_in(page)
    assert page.locator("h1").inner_text() == "Overview"
    cards = dict(
        zip(
            page.locator(".card-label").all_inner_texts(),
            page.locator(".card-value").all_inner_texts(),
            strict=True,
        )
    )
    assert number(cards["Profiles"]) == count(populated, "SELECT COUNT(*) FROM profiles")
    failed = count(populated, "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'")
    assert number(cards["Failed deliveries"]) == failed
    assert page.locator("svg.chart").count() == 2
    shot(page, "overview")

    _journey_map(page, populated)
    _funnel(page, populated)
    _flow(page, populated)
    _experiment(page, populated)
    _profile(page, populated)

    page.click("form.logout button")
    assert "/dashboard/login" in page.url


TABLE_TEXT = """table => {
  const rows = [], spans = {};
  for (const tr of table.rows) {
    const row = [];
    const fill = () => { while (spans[row.length] > 0) { spans[row.length]--; row.push(""); } };
    fill();
    for (const cell of tr.cells) {
      const lines = cell.innerText.split("\\n").map(l => l.replace(/\\s+/g, " ").trim());
      const at = row.length;
      row.push(lines.filter(l => l).join("; "));
      for (let i = 1; i < cell.colSpan; i++) row.push("");
      if (cell.rowSpan > 1) spans[at] = cell.rowSpan - 1;
      fill();
    }
    rows.push(row);
  }
  return rows;
}"""

EXPORTED = [
    "/dashboard?days=0",
    "/dashboard/journey?flow=welcome&days=0",
    "/dashboard/funnel?days=0",
    "/dashboard/flows",
    "/dashboard/flows/welcome?days=0",
    "/dashboard/profiles?q=user-1",
    "/dashboard/profiles/user-05",
]


def test_every_table_downloads_as_its_csv(probe: Any, populated: Engine) -> None:
    """Each marked table's CSV (through its link) holds exactly the cells Chromium shows
    (with the stylesheet's upper-case headings shown as written)."""
    page = probe
    page.goto("/dashboard/login")
    log_in(page)
    checked = 0
    for url in EXPORTED:
        page.goto(url)
        page.add_style_tag(content="* { text-transform: none !important; }")
        for table in page.locator("table[data-csv]").all():
            name = table.get_attribute("data-csv")
            link = page.locator(f"a[href*='table={name}']")
            href = link.get_attribute("href")
            assert href.startswith("/dashboard"), href  # relative to the host the page came from
            response = page.request.get(href)
            assert response.ok, href
            shown = [[safe_cell(c) for c in row] for row in table.evaluate(TABLE_TEXT)]
            assert list(csv.reader(io.StringIO(response.text()))) == shown, href
            checked += 1
    assert checked >= 12


AXE = ROOT / "browser" / "node_modules" / "axe-core" / "axe.min.js"
EVERY_PAGE = [
    *EXPORTED,
    "/dashboard/funnel?persona=power_user&days=90",
    "/dashboard/flows/activation-rescue?days=30",
    "/dashboard/experiments",
    "/dashboard/experiments/welcome-tutorial-first",
    "/dashboard/profiles?flow=welcome&step=welcome-email&figure=delivered",
    "/dashboard/flows/no-such-flow",
]


@pytest.mark.parametrize("width", [1360, 390])
def test_pages_are_accessible_and_fit_a_phone(probe: Any, populated: Engine, width: int) -> None:
    """axe-core finds no serious or critical violation on any page, and at a phone's width
    (390 px) no page scrolls sideways: wide tables scroll inside their own box."""
    page = probe
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/dashboard/login")
    pages = ["/dashboard/login"]
    log_in(page)
    problems: dict[str, Any] = {}
    for url in pages + EVERY_PAGE:
        page.goto(url)
        page.add_script_tag(content=AXE.read_text())
        found = page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
        )
        sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if found or sideways > 0:
            problems[url] = {"axe": found, "overflow px": sideways}
        if url == "/dashboard/login":
            log_in(page)
    assert problems == {}, json.dumps(problems, indent=1)


def _journey_map(page: Any, db: Engine) -> None:
    page.goto("/dashboard/journey")
    page.select_option("select[name=flow]", "welcome")
    page.select_option("select[name=days]", "0")
    page.click("form.filters button")
    entered = count(
        db,
        "SELECT COUNT(DISTINCT profile_id) FROM flow_runs"
        " WHERE flow = 'welcome' AND status <> 'skipped'",
    )
    assert number(page.inner_text("[data-testid=population]")) == entered
    activated = count(
        db,
        "SELECT COUNT(*) FROM stage_entries WHERE stage = 'activation' AND profile_id IN"
        " (SELECT profile_id FROM flow_runs WHERE flow = 'welcome' AND status <> 'skipped')",
    )
    cell = page.locator("td[data-stage=activation]").first
    assert int(cell.get_attribute("data-reached")) == activated
    assert page.locator("th .badge", has_text="pain point").count() >= 1
    assert page.locator("text=welcome").count() > 0  # the welcome email among touchpoints
    shot(page, "journey-map")


def _funnel(page: Any, db: Engine) -> None:
    page.goto("/dashboard/funnel?days=0")
    signups = count(db, "SELECT COUNT(*) FROM stage_entries WHERE stage = 'signup'")
    row = page.locator("tr[data-stage=signup] td")
    assert number(row.nth(1).inner_text()) == signups
    sizes = [
        number(t) for t in page.locator("table.cohorts tbody tr td:nth-child(2)").all_inner_texts()
    ]
    assert sum(sizes) == signups
    shot(page, "funnel")


def _flow(page: Any, db: Engine) -> None:
    page.goto("/dashboard/flows")
    page.click("a[href='/dashboard/flows/welcome']")
    page.goto(page.url + "?days=0")
    sent = count(
        db, "SELECT COUNT(*) FROM deliveries WHERE step = 'welcome-email' AND status = 'sent'"
    )
    row = page.locator("tr[data-step=welcome-email]")
    assert number(row.locator("td[data-col=delivered]").inner_text()) == sent
    assert "no email address" in row.locator("td[data-col=skipped]").inner_text()
    failed = count(
        db, "SELECT COUNT(*) FROM deliveries WHERE flow = 'welcome' AND status = 'failed'"
    )
    assert page.locator("tr.failure").count() == failed
    shot(page, "flow-welcome")


def _experiment(page: Any, db: Engine) -> None:
    page.goto("/dashboard/experiments")
    shot(page, "experiments")
    page.click("a[href='/dashboard/experiments/welcome-tutorial-first']")
    page.click("text=Include profiles still in their window")
    for variant in ("control", "tutorial_first"):
        exposed = count(
            db,
            "SELECT COUNT(*) FROM experiment_assignments"
            f" WHERE experiment = 'welcome-tutorial-first' AND variant = '{variant}'",
        )
        users = page.locator(f"tr[data-variant={variant}] td").nth(1).inner_text()
        assert number(users) == exposed
    assert page.locator("text=Cumulative lift over time").count() == 1
    assert page.locator("svg.chart polyline").count() >= 1
    shot(page, "experiment")


def _profile(page: Any, db: Engine) -> None:
    page.goto("/dashboard/profiles")
    page.fill("#q", "user-0")
    page.click("form.filters button")
    assert page.locator("table.profiles tbody tr").count() == 10
    page.click("a[href='/dashboard/profiles/user-05']")
    stages = count(
        db,
        "SELECT COUNT(*) FROM stage_entries s JOIN profiles p ON p.id = s.profile_id"
        " WHERE p.user_id = 'user-05'",
    )
    assert page.locator("table.timeline tr.stage").count() == stages
    assert page.locator("table.timeline tr.delivery").count() > 0
    shot(page, "profile")
