"""Which key may merge profiles: a public (browser) write key never merges identified users.

The attack this closes: with the public key, Mallory aliases Sophie into her own profile
(or her own id onto Sophie's), then reads and dismisses Sophie's in-app items with the hash
she legitimately holds for herself.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.catalog.catalog import Catalog
from engine.inapp.service import user_hash
from tests.conftest import BROWSER_WRITE_KEY, WRITE_KEY

BROWSER = (BROWSER_WRITE_KEY, "")
SERVER = (WRITE_KEY, "")
TRAITS = {
    "email": "sophie@studio.example",
    "first_name": "Sophie",
    "role": "marketing_manager",
    "email_experience": "beginner",
}


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog


def signup(client: TestClient, user: str, traits: dict[str, Any]) -> None:
    batch = [
        {"type": "identify", "userId": user, "traits": traits, "messageId": f"{user}-1"},
        {"type": "track", "userId": user, "event": "signed_up", "messageId": f"{user}-2"},
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=SERVER).status_code == 200


def items(client: TestClient, user: str) -> Any:
    secret = client.app.state.parcours.settings.inapp_secret  # type: ignore[attr-defined]
    headers = {"X-User-Hash": user_hash(secret, user)}
    return client.get(f"/v1/inapp/{user}", headers=headers, auth=BROWSER)


def alias(client: TestClient, key: tuple[str, str], previous: str, user: str) -> None:
    body = {"previousId": previous, "userId": user, "messageId": f"alias-{previous}-{user}"}
    assert client.post("/v1/alias", json=body, auth=key).status_code == 200


@pytest.mark.parametrize(("previous", "user"), [("sophie", "mallory"), ("mallory", "sophie")])
def test_a_browser_alias_never_merges_two_identified_users(
    client: TestClient, admin_headers: dict[str, str], previous: str, user: str
) -> None:
    signup(client, "sophie", TRAITS)
    signup(client, "mallory", {"role": "developer"})
    sophies = items(client, "sophie").json()["items"]
    assert [i["name"] for i in sophies] == ["guided-first-campaign"]

    alias(client, BROWSER, previous, user)

    assert items(client, "mallory").json() == {"items": []}
    secret = client.app.state.parcours.settings.inapp_secret  # type: ignore[attr-defined]
    dismiss = client.post(
        f"/v1/inapp/mallory/{sophies[0]['id']}/dismissed",
        headers={"X-User-Hash": user_hash(secret, "mallory")},
        auth=BROWSER,
    )
    assert dismiss.status_code == 404
    assert items(client, "sophie").json()["items"] == sophies
    sophie = client.get("/v1/profiles/sophie", headers=admin_headers).json()
    mallory = client.get("/v1/profiles/mallory", headers=admin_headers).json()
    assert (sophie["user_id"], sophie["traits"]) == ("sophie", TRAITS)
    assert mallory["user_id"] == "mallory"
    assert mallory["traits"] == {"role": "developer"}
    metrics = client.get("/metrics", headers=admin_headers).text
    assert "parcours_aliases_refused_total 1.0" in metrics


def test_a_browser_alias_does_not_rename_an_identified_user(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    signup(client, "sophie", TRAITS)
    alias(client, BROWSER, "sophie", "squatter")
    assert client.get("/v1/profiles/sophie", headers=admin_headers).json()["user_id"] == "sophie"
    squatter = client.get("/v1/profiles/squatter", headers=admin_headers).json()
    assert squatter["traits"] == {}
    assert squatter["event_counts"]["total"] == 1  # the alias call itself


def test_a_browser_alias_claims_an_unknown_id_only_as_an_anonymous_id(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    signup(client, "mallory", {"role": "developer"})
    alias(client, BROWSER, "future-user", "mallory")
    signup(client, "future-user", {"role": "founder"})
    future = client.get("/v1/profiles/future-user", headers=admin_headers).json()
    assert future["user_id"] == "future-user"
    assert future["traits"] == {"role": "founder"}
    mallory = client.get("/v1/profiles/mallory", headers=admin_headers).json()
    assert mallory["traits"] == {"role": "developer"}


def test_a_browser_alias_still_identifies_an_anonymous_visitor(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    visit = {"anonymousId": "anon-1", "event": "pricing_viewed", "messageId": "v1"}
    assert client.post("/v1/track", json=visit, auth=BROWSER).status_code == 200
    signup(client, "sophie", TRAITS)
    alias(client, BROWSER, "anon-1", "sophie")
    sophie = client.get("/v1/profiles/sophie", headers=admin_headers).json()
    assert sophie["anonymous_ids"] == ["anon-1"]
    assert sophie["event_counts"]["by_name"]["pricing_viewed"] == 1


def test_a_server_key_merges_identified_users(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    signup(client, "sophie", TRAITS)
    signup(client, "sophie-old", {"plan": "pro"})
    alias(client, SERVER, "sophie-old", "sophie")
    sophie = client.get("/v1/profiles/sophie-old", headers=admin_headers).json()
    assert sophie["user_id"] == "sophie"
    assert sophie["traits"] == {**TRAITS, "plan": "pro"}


def test_in_app_items_are_found_by_user_id_only(client: TestClient) -> None:
    """An anonymous id can be tied to anyone's profile with the public key, so the hash of a
    string that is only an anonymous id opens nothing."""
    signup(client, "sophie", TRAITS)
    claim = {"userId": "sophie", "anonymousId": "mallory", "event": "x", "messageId": "c1"}
    assert client.post("/v1/track", json=claim, auth=BROWSER).status_code == 200
    assert items(client, "sophie").json()["items"] != []
    assert items(client, "mallory").status_code == 404
