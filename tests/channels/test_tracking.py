"""Open pixel and signed click redirects, recorded as events flows can wait for."""

from __future__ import annotations

import email
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog, load_catalog
from engine.config import Settings
from engine.ingest.repository import events
from tests.conftest import WRITE_KEY
from tests.flows.content import content_with

FLOW = """flow: f
trigger: {event: go}
tracking: true
steps:
  - email: welcome
    id: hello
  - wait_until: {engaged: hello, timeout: 2d}
    on_timeout: [{tip: shortcuts}]
  - tutorial: tour
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    content = content_with(tmp_path / "content", f=FLOW)
    (content / "templates" / "emails" / "welcome.html.j2").write_text(
        '<html><body><p>Hi {{ traits.first_name }}, <a href="https://app.example/a?x=1&amp;y=2">'
        "go</a></p></body></html>"
    )
    loaded, problems = load_catalog(content)
    assert loaded is not None, problems
    return loaded


def sent_html(client: TestClient, app: FastAPI, settings: Settings) -> str:
    batch = [
        {"type": "identify", "userId": "u", "traits": {"email": "u@x.example", "first_name": "U"}},
        {"type": "track", "userId": "u", "event": "go"},
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, "")).status_code == 200
    while app.state.parcours.dispatcher.run_once():
        pass
    (path,) = Path(settings.outbox_dir).glob("*.eml")
    message = email.message_from_bytes(path.read_bytes())
    html_part = message.get_payload()[1]
    return str(html_part.get_payload(decode=True).decode())


def named(engine: Engine, name: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.properties).where(events.c.name == name))
        return [dict(p) for (p,) in rows]


def test_click_and_open_are_recorded_and_wake_the_wait(
    client: TestClient, app: FastAPI, settings: Settings, db_engine: Engine
) -> None:
    html = sent_html(client, app, settings)
    click = re.search(r'href="([^"]*/v1/t/c/[^"]+)"', html)
    pixel = re.search(r'src="([^"]*/v1/t/o/[^"]+)"', html)
    assert click is not None
    assert pixel is not None

    opened = client.get(urlsplit(pixel.group(1)).path)
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "image/gif"
    client.get(urlsplit(pixel.group(1)).path)  # a second open is the same event
    assert [p["step"] for p in named(db_engine, "email_opened")] == ["hello"]

    redirect = client.get(
        urlsplit(click.group(1).replace("&amp;", "&")).path, follow_redirects=False
    )
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "https://app.example/a?x=1&y=2"
    assert named(db_engine, "email_clicked")[0]["url"] == "https://app.example/a?x=1&y=2"

    journey = client.get(
        "/v1/profiles/u/journey", headers={"Authorization": f"Bearer {settings.admin_key}"}
    ).json()["runs"][0]
    assert [d["content"] for d in journey["deliveries"]] == ["welcome", "tour"]
    assert ("wait_until", "target reached") in [(s["kind"], s["outcome"]) for s in journey["steps"]]


def test_a_forged_click_link_is_refused(client: TestClient) -> None:
    response = client.get("/v1/t/c/eyJrIjoiYyIsImQiOjEsInUiOiJodHRwczovL2V2aWwifQ.AAAA")
    assert response.status_code == 404
    assert client.get("/v1/t/o/garbage.gif").status_code == 200  # the pixel never breaks
