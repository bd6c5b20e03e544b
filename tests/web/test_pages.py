"""Every page renders on an empty database, with the example content and with none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from engine.catalog.catalog import Catalog, empty_catalog

PAGES = [
    "/dashboard",
    "/dashboard?days=7",
    "/dashboard/journey",
    "/dashboard/journey?flow=welcome&persona=(none)&days=0",
    "/dashboard/journey?flow=unknown&persona=unknown&days=12",
    "/dashboard/funnel?persona=power_user&days=90",
    "/dashboard/flows",
    "/dashboard/experiments",
    "/dashboard/profiles",
    "/dashboard/profiles?user_id=nobody",
]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_pages_render_without_data(logged_in: TestClient) -> None:
    for page in [
        *PAGES,
        "/dashboard/flows/welcome",
        "/dashboard/experiments/welcome-tutorial-first",
    ]:
        response = logged_in.get(page)
        assert response.status_code == 200, page
        assert "<svg" in response.text or "<table" in response.text or "<form" in response.text


class TestWithoutContent:
    @pytest.fixture
    def catalog(self) -> Catalog:
        return empty_catalog()

    @pytest.mark.parametrize("backend", ["sqlite"])
    def test_pages_render_without_content(self, logged_in: TestClient) -> None:
        for page in PAGES:
            assert logged_in.get(page).status_code == 200, page
        assert "No flows in the content." in logged_in.get("/dashboard/flows").text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_snapshot_age_and_refresh(logged_in: TestClient) -> None:
    first = logged_in.get("/dashboard/funnel")
    assert "Numbers computed 0 s ago" in first.text
    assert 'href="/dashboard/funnel?refresh=1"' in first.text  # relative: right behind a proxy
    assert logged_in.get("/dashboard/funnel?refresh=1").status_code == 200
