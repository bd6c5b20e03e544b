"""The published OpenAPI document: what the routes cannot declare on their own.

- The Segment message schemas of the ingestion bodies: those routes read their bodies
  themselves, item by item, so FastAPI never sees a body model.
- The security schemes: the write key (HTTP Basic user name) and the in-app user hash; the
  admin key's Bearer scheme comes with its dependency (`api.deps.require_admin`).
- Errors as they are answered: 400 with the error body, never FastAPI's 422.

So generic clients and fuzzers (the test suite runs Schemathesis over it) can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from engine.ingest.schemas import openapi_components

WRITE_KEY = "writeKey"
USER_HASH = "userHash"
ADMIN_KEY = "adminKey"

SECURITY_SCHEMES = {
    WRITE_KEY: {
        "type": "http",
        "scheme": "basic",
        "description": "The write key as the user name, an empty password (the SDKs' way).",
    },
    USER_HASH: {
        "type": "apiKey",
        "in": "header",
        "name": "X-User-Hash",
        "description": "HMAC-SHA256(PARCOURS_INAPP_SECRET, user id), from the SaaS backend.",
    },
}


class ItemError(BaseModel):
    index: int | None = None
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error: `code` and `message` (what the Segment SDKs read), and item errors."""

    code: str
    message: str
    errors: list[ItemError] | None = None


_REF = "#/components/schemas/{model}"
_WHY = {
    400: "Invalid request; `errors` names each field",
    401: "Missing or invalid credentials",
    404: "Nothing by that name or id",
    409: "Not possible in the current state",
    413: "Body too large (measured after decompression)",
}


def error_response(status: int) -> dict[str, Any]:
    """An answer with the error body, for `responses=` or the document."""
    schema = {"$ref": _REF.format(model="ErrorBody")}
    return {"description": _WHY[status], "content": {"application/json": {"schema": schema}}}


def install_openapi(app: FastAPI) -> None:
    app.openapi = _with_our_parts(app.openapi)  # type: ignore[method-assign]


def _with_our_parts(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        document = build()  # cached by FastAPI, so these edits are made idempotent
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.update(openapi_components())
        errors = ErrorBody.model_json_schema(ref_template=_REF)
        schemas.update(errors.pop("$defs"), ErrorBody=errors)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                _declare_errors(operation)
        return document

    return openapi


def _declare_errors(operation: dict[str, Any]) -> None:
    """Every route can refuse its parameters (400); one with credentials can refuse them
    (401); one with a path parameter can name nothing (404)."""
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    statuses = [400]
    if operation.get("security"):
        statuses.append(401)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses.append(404)
    for status in statuses:
        responses.setdefault(str(status), error_response(status))
