"""The published OpenAPI document: what generic clients and fuzzers rely on."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from engine.ingest.schemas import MESSAGE_TYPES


def _document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_ingestion_routes_describe_their_bodies_and_the_write_key(client: TestClient) -> None:
    document = _document(client)
    schemas = document["components"]["schemas"]
    for kind in ("batch", *MESSAGE_TYPES):
        operation = document["paths"][f"/v1/{kind}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[1] in schemas
        assert operation["security"] == [{"writeKey": []}]
        assert {"400", "401", "413"} <= set(operation["responses"])
    items = schemas["Batch"]["properties"]["batch"]["items"]
    assert {m["$ref"].rsplit("/", 1)[1] for m in items["oneOf"]} == {
        "Identify", "Track", "Page", "Group", "Alias",
    }  # fmt: skip
    assert "type" not in schemas["TrackCall"]["required"]  # the path gives it
    assert schemas["TrackCall"]["required"] == ["event"]


def test_every_error_is_declared_as_answered(client: TestClient) -> None:
    document = _document(client)
    assert set(document["components"]["securitySchemes"]) == {"writeKey", "adminKey", "userHash"}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)  # validation errors are 400s
            assert "400" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    profile = document["paths"]["/v1/profiles/{user_id}"]["get"]
    assert profile["security"] == [{"adminKey": []}]
    inapp = document["paths"]["/v1/inapp/{user_id}"]["get"]
    assert inapp["security"] == [{"writeKey": [], "userHash": []}, {"adminKey": []}]


def test_a_wrong_method_keeps_the_allow_header(client: TestClient) -> None:
    response = client.get("/v1/batch")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"
