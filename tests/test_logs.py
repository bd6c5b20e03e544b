"""Log settings and the access log: level, text or JSON lines, and nothing secret in them."""

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from engine.config import Settings
from engine.demo.server import free_port
from engine.logs import QUIET, configure_logging
from engine.scheduler.listener import serve_metrics
from tests.conftest import ADMIN_KEY, BROWSER_WRITE_KEY, WRITE_KEY

USER_HASH = "9f2c1e0b7a6d5c4b3a291807f6e5d4c3b2a19080f7e6d5c4b3a2918070605040"
LINK_TOKEN = "eyJzIjoiYW5hIn0.c2lnbmF0dXJlLW9mLXRoZS1saW5r"


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """configure_logging rewires the root logger; put it back for the next tests."""
    loggers = [logging.getLogger(), *map(logging.getLogger, QUIET)]
    saved = [(logger.handlers[:], logger.level) for logger in loggers]
    try:
        yield
    finally:
        for logger, (handlers, level) in zip(loggers, saved, strict=True):
            logger.handlers, logger.level = handlers, level


def requests_with_secrets(client: TestClient) -> None:
    """Calls carrying every kind of secret the API takes, in headers, query and path."""
    client.post("/v1/track", json={"userId": "ana", "event": "x"}, auth=(WRITE_KEY, ""))
    client.get("/v1/profiles/ana", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    client.get(f"/v1/inapp/ana?write_key={BROWSER_WRITE_KEY}&user_hash={USER_HASH}")
    client.get("/v1/inapp/ana", auth=(BROWSER_WRITE_KEY, ""), headers={"X-User-Hash": USER_HASH})
    client.get(f"/v1/unsubscribe/{LINK_TOKEN}")
    client.get(f"/v1/t/c/{LINK_TOKEN}?url=https://example.com")


@pytest.mark.usefixtures("logging_restored")
def test_json_access_lines_name_each_request_and_no_secret(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json", log_level="info"))
    requests_with_secrets(client)
    captured = capsys.readouterr().err

    lines = [json.loads(line) for line in captured.splitlines()]
    access = [line for line in lines if line["logger"] == "parcours.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [
        ("POST", "/v1/track", 200),
        ("GET", "/v1/profiles/ana", 200),
        ("GET", "/v1/inapp/ana", access[2]["status"]),
        ("GET", "/v1/inapp/ana", access[3]["status"]),
        ("GET", "/v1/unsubscribe/{token}", access[4]["status"]),
        ("GET", "/v1/t/c/{token}", access[5]["status"]),
    ]
    assert all(isinstance(a["duration_ms"], float) for a in access)
    assert all(a["level"] == "info" for a in access)
    assert {a["client"] for a in access} == {"testclient"}
    for secret in (WRITE_KEY, BROWSER_WRITE_KEY, ADMIN_KEY, USER_HASH, LINK_TOKEN, "Bearer"):
        assert secret not in captured


@pytest.mark.usefixtures("logging_restored")
def test_text_lines_and_the_level_setting(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_level="info"))
    requests_with_secrets(client)
    at_info = capsys.readouterr().err
    configure_logging(Settings(log_level="warning"))
    client.get("/healthz")
    at_warning = capsys.readouterr().err

    assert "INFO parcours.access: testclient POST /v1/track 200 " in at_info
    assert "GET /v1/unsubscribe/{token} " in at_info
    for secret in (WRITE_KEY, BROWSER_WRITE_KEY, ADMIN_KEY, USER_HASH, LINK_TOKEN):
        assert secret not in at_info
    assert at_warning == ""


def test_log_settings_are_checked_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_LOG_FORMAT", "xml")
    with pytest.raises(Exception, match="PARCOURS_LOG_FORMAT"):
        Settings()
    monkeypatch.setenv("PARCOURS_LOG_FORMAT", "JSON")
    monkeypatch.setenv("PARCOURS_LOG_LEVEL", "Debug")
    assert (Settings().log_format, Settings().log_level) == ("json", "debug")


@pytest.mark.usefixtures("logging_restored")
def test_outbound_request_urls_are_not_logged(capsys: pytest.CaptureFixture[str]) -> None:
    """A webhook receiver's URL may hold its token; httpx would log it at INFO."""
    server = serve_metrics(CollectorRegistry(), lambda token: False, port := free_port())
    try:
        configure_logging(Settings(log_level="info"))
        httpx.get(f"http://127.0.0.1:{port}/services/T0/{LINK_TOKEN}")
    finally:
        server.shutdown()
        server.server_close()

    assert LINK_TOKEN not in capsys.readouterr().err
