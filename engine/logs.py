"""Logging for every process: the level and format settings, and the access log.

The access log names method, path, status, duration and the client's address (the one
behind the proxy when PARCOURS_PROXY_HEADERS trusts it), never other headers (Authorization, user
hashes), never the query string (in-app calls may carry `write_key` and `user_hash` there),
and never a signed link token in a path (`/unsubscribe/{token}`, `/t/c/{token}`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from starlette.types import Scope

from engine.config import Settings

access = logging.getLogger("parcours.access")

# Heard from WARNING on: HTTP clients log each request's full URL at INFO, and a webhook
# receiver's URL may hold its token (hooks.slack.com/services/...); APScheduler writes two
# INFO lines per job run, several a second (parcours_job_duration_seconds counts them).
QUIET = ("httpx", "httpcore", "httpx2", "httpcore2", "apscheduler")
# Path parameters that hold a secret: written as their name, not their value.
SECRET_PATH_PARAMS = frozenset({"token"})
# What an access record carries besides its message (JSON lines keeps them as fields).
ACCESS_FIELDS = ("client", "method", "path", "status", "duration_ms")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the access fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Send every logger's records at PARCOURS_LOG_LEVEL or above to stderr, as text or JSON
    lines (PARCOURS_LOG_FORMAT); uvicorn's own loggers included, its access log replaced,
    HTTP clients' request lines and the scheduler's per-run lines left out."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))


def log_access(scope: Scope, status: int, seconds: float) -> None:
    """One access line for a finished HTTP request."""
    if not access.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    fields = {
        "client": client[0] if client else "-",
        "method": scope["method"],
        "path": logged_path(scope),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }
    line = "%(client)s %(method)s %(path)s %(status)s %(duration_ms)s ms"
    access.info(line, fields, extra=fields)


def logged_path(scope: Scope) -> str:
    """The request's path without its query, secret path parameters written as `{name}`."""
    path = str(scope.get("path", ""))
    params = scope.get("path_params") or {}
    for name in SECRET_PATH_PARAMS & params.keys():
        value = str(params[name])
        if value:
            path = path.replace(value, "{" + name + "}")
    return path
