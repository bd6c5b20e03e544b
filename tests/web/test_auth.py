"""Dashboard login: every page needs the session cookie the admin key buys, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from engine.clock import FrozenClock
from engine.web import auth, sessions
from tests.conftest import ADMIN_KEY, START

PAGES = [
    "/dashboard",
    "/dashboard/journey?flow=welcome",
    "/dashboard/funnel",
    "/dashboard/flows",
    "/dashboard/flows/welcome",
    "/dashboard/experiments",
    "/dashboard/experiments/welcome-tutorial-first",
    "/dashboard/profiles?user_id=x",
    "/dashboard/profiles/nobody",
]


@pytest.mark.parametrize("page", PAGES)
def test_pages_redirect_to_login_without_a_session(browser_client: TestClient, page: str) -> None:
    response = browser_client.get(page)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login?next=/dashboard")


def test_wrong_key_is_refused_and_sets_no_cookie(browser_client: TestClient) -> None:
    response = browser_client.post("/dashboard/login", data={"admin_key": "not-the-key"})
    assert response.status_code == 401
    assert "That is not the admin key." in response.text
    assert "set-cookie" not in response.headers
    assert browser_client.get("/dashboard").status_code == 303


def test_login_sets_a_signed_httponly_cookie_and_returns_to_the_page(
    browser_client: TestClient,
) -> None:
    response = browser_client.post(
        "/dashboard/login", data={"admin_key": ADMIN_KEY, "next": "/dashboard/funnel?days=7"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/funnel?days=7"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{auth.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/dashboard" in cookie
    assert ADMIN_KEY not in cookie
    page = browser_client.get("/dashboard/funnel?days=7")
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]  # no script at all
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_login_never_redirects_off_the_dashboard(browser_client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/dashboard", "/v1/profiles"):
        response = browser_client.post(
            "/dashboard/login", data={"admin_key": ADMIN_KEY, "next": target}
        )
        assert response.headers["location"] == "/dashboard"


def test_forged_and_expired_sessions_are_refused(
    browser_client: TestClient, clock: FrozenClock
) -> None:
    forged = auth.issue_session("some-other-key-0123456789", START)
    browser_client.cookies.set(auth.SESSION_COOKIE, forged, path="/dashboard")
    assert browser_client.get("/dashboard").status_code == 303
    browser_client.cookies.clear()
    browser_client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    assert browser_client.get("/dashboard/flows").status_code == 200
    clock.advance(auth.SESSION_LIFETIME + timedelta(seconds=1))
    assert browser_client.get("/dashboard/flows").status_code == 303


def test_logout_forgets_the_session(logged_in: TestClient) -> None:
    response = logged_in.post("/dashboard/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"
    assert logged_in.get("/dashboard").status_code == 303


def test_stylesheet_is_served_locally_without_a_session(browser_client: TestClient) -> None:
    response = browser_client.get("/dashboard/static/dashboard.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "http" not in response.text  # no font or asset from elsewhere
    assert browser_client.get("/dashboard/static/render.py").status_code == 404


def test_unknown_names_get_an_html_404(logged_in: TestClient) -> None:
    for page in ("/dashboard/flows/nope", "/dashboard/experiments/nope", "/dashboard/profiles/x"):
        response = logged_in.get(page)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


def test_session_tokens_are_pure_functions_of_key_and_time() -> None:
    token = auth.issue_session("key-one-0123456789", START)
    assert auth.session_valid("key-one-0123456789", token, START)
    assert not auth.session_valid("key-two-0123456789", token, START)
    assert not auth.session_valid("key-one-0123456789", token, START + timedelta(hours=13))
    expiry, nonce, signature = token.split(".")
    assert not auth.session_valid("key-one-0123456789", f"9{expiry}.{nonce}.{signature}", START)
    assert not auth.session_valid("key-one-0123456789", None, START)
    assert not auth.session_valid("key-one-0123456789", "a.b", START)


def test_logout_ends_the_session_on_the_server(browser_client: TestClient) -> None:
    """A copy of the cookie taken before logout (another tab, a stolen cookie) is refused
    afterwards; another session of the same admin goes on."""
    browser_client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    copied = browser_client.cookies[auth.SESSION_COOKIE]
    other = auth.issue_session(ADMIN_KEY, START)
    assert browser_client.post("/dashboard/logout").status_code == 303

    for token, status in ((copied, 303), (other, 200)):
        browser_client.cookies.set(auth.SESSION_COOKIE, token, path="/dashboard")
        assert browser_client.get("/dashboard/flows").status_code == status
        browser_client.cookies.clear()


def test_revoked_sessions_are_kept_only_until_they_expire(
    browser_client: TestClient, db_engine: Engine, clock: FrozenClock
) -> None:
    for _ in range(2):
        browser_client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
        browser_client.post("/dashboard/logout")
        browser_client.cookies.clear()
    assert revoked(db_engine) == 2
    clock.advance(auth.SESSION_LIFETIME + timedelta(seconds=1))
    browser_client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    browser_client.post("/dashboard/logout")
    assert revoked(db_engine) == 1


def revoked(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(sessions.revoked_sessions)
        return int(conn.execute(query).scalar_one())
