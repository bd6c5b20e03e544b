"""Errors that reach a caller.

    EngineError (500, "internal")
    ├── BadRequest (400)            malformed body, invalid items (may carry item errors)
    ├── Unauthorized (401)          missing or wrong write key / admin key
    ├── NotFound (404)
    ├── PayloadTooLarge (413)
    └── ConfigurationError          refused settings at start-up (never an HTTP answer)

Every HTTP error body is `{"code": ..., "message": ...}` (plus `errors` for item lists): the
shape Segment/RudderStack SDKs read, so they stop retrying requests that can never succeed.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    status_code = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None, errors: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


class BadRequest(EngineError):
    status_code = 400
    code = "bad_request"


class Unauthorized(EngineError):
    status_code = 401
    code = "unauthorized"


class NotFound(EngineError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(EngineError):
    status_code = 413
    code = "payload_too_large"


class ConfigurationError(EngineError):
    code = "configuration"
