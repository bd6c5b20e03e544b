"""Fixtures of the webhook tests: a live receiver on 127.0.0.1, content endpoints pointing
at it, a sender allowed to reach it, and the app with the webhook API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from engine.catalog.catalog import Catalog, load_catalog
from engine.webhooks.endpoints import router
from engine.webhooks.guard import AddressGuard
from engine.webhooks.sender import WebhookSender
from engine.webhooks.signing import generate_secret
from tests.flows.content import content_with
from tests.support.server import live_server
from tests.webhooks.receiver import Receiver

SECRET_ENV = "PARCOURS_TEST_CRM_SECRET"


@pytest.fixture(scope="module")
def live_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with live_server(receiver.app()) as url:
        receiver.url = url
        yield receiver


@pytest.fixture
def receiver(live_receiver: Receiver) -> Receiver:
    live_receiver.reset()
    return live_receiver


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    """What PARCOURS_WEBHOOK_ALLOW_PRIVATE=true builds: the receiver is on 127.0.0.1."""
    built = WebhookSender(AddressGuard(allow_private=True), timeout=5.0)
    yield built
    built.close()


@pytest.fixture
def content_secret() -> str:
    return generate_secret()


def endpoint_content(
    target: Path, url: str, *, events: str = "[stage.entered]", **flows: str
) -> Catalog:
    """The base content with its endpoint `crm` posting to `url` (never a real host),
    subscribed to `events`, signed with the secret in SECRET_ENV."""
    content = content_with(target, **flows)
    (content / "flows" / "endpoints.yaml").write_text(
        f"endpoint: crm\nurl: {url}\nevents: {events}\nsecret_env: {SECRET_ENV}\n"
    )
    catalog, problems = load_catalog(content)
    assert catalog is not None, problems
    return catalog


@pytest.fixture
def catalog(tmp_path: Path, receiver: Receiver) -> Catalog:
    return endpoint_content(tmp_path / "content", f"{receiver.url}/hook")


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The app with the webhook API (until engine.api.app includes the router itself)."""
    if not any(getattr(r, "path", "").startswith("/v1/webhooks") for r in app.routes):
        app.include_router(router)
    return app
