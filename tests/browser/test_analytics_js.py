"""Segment's own browser library, `@segment/analytics-next` from npm, in real Chromium on
another origin: every call reaches Parcours in standard and in batching mode, and a batch
still pending when the page goes away is delivered (keepalive on page hide)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.config import Settings
from tests.browser.conftest import eventually, parcours_server, static_site, stored_events
from tests.conftest import BROWSER_WRITE_KEY, ROOT

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"])]
ESBUILD = ROOT / "browser" / "node_modules" / ".bin" / "esbuild"
HERE = Path(__file__).parent / "analytics"


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test page with analytics-next bundled by esbuild (`make sdk` installs both)."""
    assert ESBUILD.exists(), "browser/node_modules is missing: run `make sdk` (npm ci)"
    out = tmp_path_factory.mktemp("analytics")
    shutil.copy(HERE / "index.html", out / "index.html")
    # From stdin, so that esbuild resolves the package from browser/ (its working directory).
    subprocess.run(
        [
            str(ESBUILD),
            "--bundle",
            "--format=iife",
            f"--outfile={out / 'analytics-next.js'}",
            "--log-level=error",
        ],
        input=(HERE / "entry.js").read_bytes(),
        cwd=ROOT / "browser",
        check=True,
    )
    return out


@pytest.fixture
def servers(
    page_dir: Path, settings: Settings, db_engine: Engine, clock: FrozenClock, catalog: Catalog
) -> Iterator[tuple[str, str]]:
    with (
        static_site(page_dir) as site,
        parcours_server(settings, db_engine, clock, catalog, site) as base,
    ):
        yield site, base


def open_page(browser: Any, site: str, base: str, batching: dict[str, int] | None) -> Any:
    tab = browser.new_page()
    tab.set_default_timeout(15_000)
    failed: list[str] = []
    tab.on("requestfailed", lambda request: failed.append(request.url))
    tab.goto(f"{site}/index.html")
    tab.evaluate(
        "([host, key, batching]) => loadAnalytics(host, key, batching)",
        [base, BROWSER_WRITE_KEY, batching],
    )
    tab.failed = failed
    return tab


def kinds(engine: Engine, user: str) -> list[tuple[str, str | None]]:
    return sorted((e["type"], e["name"]) for e in stored_events(engine, user))


def every_call(user: str) -> list[tuple[str, str | None]]:
    """What `everyCall` stores (`name` is a group's group id and an alias's previous id)."""
    return sorted(
        [
            ("identify", None),
            ("track", "campaign_created"),
            ("page", "Campaigns"),
            ("group", "acme"),
            ("alias", f"legacy-{user}"),
        ]
    )


@pytest.mark.parametrize("mode", ["standard", "batching"])
def test_every_call_reaches_parcours(
    browser: Any, servers: tuple[str, str], db_engine: Engine, mode: str
) -> None:
    site, base = servers
    batching = {"size": 10, "timeout": 100} if mode == "batching" else None
    tab = open_page(browser, site, base, batching)
    tab.evaluate("(user) => everyCall(user)", f"u-{mode}")
    user = f"u-{mode}"
    assert eventually(lambda: kinds(db_engine, user) == every_call(user) or None)
    track = next(e for e in stored_events(db_engine, user) if e["type"] == "track")
    assert track["properties"] == {"channel": "email"}
    assert track["context"]["library"]["name"] == "analytics.js"
    assert tab.failed == []
    tab.close()


def test_a_pending_batch_is_delivered_when_the_page_goes_away(
    browser: Any, servers: tuple[str, str], db_engine: Engine
) -> None:
    site, base = servers
    tab = open_page(browser, site, base, {"size": 100, "timeout": 600_000})
    tab.evaluate("() => { analytics.identify('u-leaving'); analytics.track('export_started'); }")
    tab.goto("about:blank")
    expected = [("identify", None), ("track", "export_started")]
    assert eventually(lambda: kinds(db_engine, "u-leaving") == expected or None)
    tab.close()
