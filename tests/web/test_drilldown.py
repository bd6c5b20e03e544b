"""Every count that links to its profiles links to a list of exactly that many, on both
backends; the list pages, filters by persona, and searches by id, email and trait."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.web import people
from tests.web.test_aggregates import rows

LINK = re.compile(
    r'<a href="(/dashboard/profiles\?[^"]+)"(?: title="([\d,]+) profiles")?>'
    r"(?:<strong[^>]*>)?([\d,]+)"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def total(client: TestClient, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    found = re.search(r'<span data-testid="total">([\d,]+)</span>', response.text)
    assert found is not None, url
    return number(found.group(1))


def links(client: TestClient, page: str) -> list[tuple[str, int]]:
    """(list url, the count it stands for) of every drill-down link on `page`."""
    text = client.get(page).text
    return [
        (html.unescape(url), number(title or shown)) for url, title, shown in LINK.findall(text)
    ]


PAGES = [
    "/dashboard/journey?days=0",
    "/dashboard/journey?flow=welcome&days=0",
    "/dashboard/journey?flow=welcome&persona=power_user&days=0",
    "/dashboard/journey?persona=(none)&days=30",
    "/dashboard/funnel?days=0",
    "/dashboard/funnel?persona=power_user&days=90",
    "/dashboard/flows/welcome?days=0",
    "/dashboard/flows/activation-rescue?days=30",
]


@pytest.mark.parametrize("page", PAGES)
def test_each_count_links_to_that_many_profiles(
    populated: Engine, logged_in: TestClient, page: str
) -> None:
    found = links(logged_in, page)
    assert len(found) >= 3, page
    assert any(n > 0 for _, n in found)
    for url, n in found:
        assert total(logged_in, url) == n, url


def test_the_list_pages_and_filters_by_persona(
    populated: Engine, logged_in: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(people, "PAGE_SIZE", 7)
    everyone = rows(populated, "SELECT user_id, persona FROM profiles")
    assert total(logged_in, "/dashboard/profiles") == len(everyone) > 7
    seen: list[str] = []
    for page in range(-(-len(everyone) // 7)):
        text = logged_in.get(f"/dashboard/profiles?page={page}").text
        seen += re.findall(r'<a href="/dashboard/profiles/[^"]+">([^<]+)</a>', text)
    assert sorted(seen) == sorted(r["user_id"] for r in everyone if r["user_id"])
    persona = next(r["persona"] for r in everyone if r["persona"])
    expected = sum(r["persona"] == persona for r in everyone)
    assert total(logged_in, f"/dashboard/profiles?persona={persona}") == expected


def test_search_by_id_substring_email_and_trait(populated: Engine, logged_in: TestClient) -> None:
    everyone = rows(populated, "SELECT user_id, traits FROM profiles")

    def expected(text: str) -> int:
        return sum(
            text in (r["user_id"] or "").lower() or text in str(r["traits"]) for r in everyone
        )

    for text in ("ser-1", "bounce.example", "USER12@EXAMPLE.COM"):
        found = total(logged_in, f"/dashboard/profiles?q={text}")
        assert found == expected(text.lower()) > 0, text
    assert total(logged_in, "/dashboard/profiles?q=USER12@EXAMPLE.COM") == 1
    one = logged_in.get("/dashboard/profiles?q=user-05")
    assert one.status_code == 303
    assert one.headers["location"] == "/dashboard/profiles/user-05"
    assert total(logged_in, "/dashboard/profiles?q=%25_%5C") == 0  # LIKE wildcards are text


def test_a_search_stays_within_the_count(populated: Engine, logged_in: TestClient) -> None:
    """Searching a drilled-down list narrows that list; its form keeps the count's filters."""
    sql = (
        "SELECT p.user_id, p.traits FROM profiles p JOIN stage_entries s ON s.profile_id = p.id"
        " WHERE s.stage = 'activation'"
    )
    activated = rows(populated, sql)
    expected = sum("ser-1" in r["user_id"] or "ser-1" in str(r["traits"]) for r in activated)
    url = "/dashboard/profiles?stage=activation&days=0&q=ser-1"
    assert 0 < total(logged_in, url) == expected < len(activated)
    form = logged_in.get(url).text
    assert '<input type="hidden" name="stage" value="activation">' in form
