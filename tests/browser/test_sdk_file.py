"""The shipped parcours.js as a page gets it: its URL, cache headers, integrity hash (the one
docs/browser.md prints) and size budget."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re

from fastapi.testclient import TestClient

from tests.conftest import ROOT

VERSION = json.loads((ROOT / "browser" / "package.json").read_text())["version"]
URL = f"/sdk/parcours-{VERSION}.js"


def test_served_immutable_with_the_documented_integrity_hash(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["access-control-allow-origin"] == "*"  # crossorigin + integrity
    digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
    docs = (ROOT / "docs" / "browser.md").read_text()
    assert re.findall(r"sha384-[A-Za-z0-9+/=]+", docs) == [f"sha384-{digest}"]
    assert f'src="https://parcours.example.com{URL}"' in docs


def test_within_its_size_budget(client: TestClient) -> None:
    shipped = client.get(URL).content
    assert len(gzip.compress(shipped, 9)) <= 20 * 1024
    assert b"http://" not in shipped  # no third-party host
    assert b"https://" not in shipped


def test_unknown_version_is_404_naming_the_shipped_ones(client: TestClient) -> None:
    response = client.get("/sdk/parcours-9.9.9.js")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert VERSION in response.json()["message"]
