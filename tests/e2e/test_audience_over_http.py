"""A SaaS backend's SDK calls move a user through stages and personas (real uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from segment.analytics import Client

from engine.catalog.catalog import Catalog
from tests.conftest import ADMIN_KEY, WRITE_KEY
from tests.support.server import live_server


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


@pytest.fixture
def server_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


def test_sdk_events_move_a_power_user_to_activation(server_url: str) -> None:
    errors: list[Any] = []
    sdk = Client(WRITE_KEY, host=server_url, on_error=lambda e, _: errors.append(e))
    sdk.page(anonymous_id="visitor-9", name="Pricing", properties={})
    sdk.track(anonymous_id="visitor-9", event="page_viewed")
    sdk.identify("max", {"role": "founder", "email_experience": "expert"}, anonymous_id="visitor-9")
    for event in ("signed_up", "logged_in"):
        sdk.track("max", event)
    sdk.track("max", "campaign_sent", {"is_test": False})
    sdk.flush()
    sdk.shutdown()
    assert errors == []
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    profile = httpx.get(f"{server_url}/v1/profiles/max", headers=headers).json()
    assert list(profile["stages"]) == ["discovery", "signup", "first_login", "activation"]
    assert profile["persona"] == "power_user"
