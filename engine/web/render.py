"""Rendering pages: one Jinja2 environment over engine/web/templates, and number filters.

Autoescape is on for every template and StrictUndefined turns a misspelt variable into an
error in the tests instead of an empty cell in front of a user. Pages carry a strict
Content-Security-Policy: they load only this server's stylesheet and run no script at all,
so nothing injected into a trait or an event name could ever execute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.web.charts import percent, plain, signed_percent
from engine.web.export import table_csv

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PREFIX = "/dashboard"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


NONE = "\u2013"  # an en dash stands for "no value"
MINUS = "\u2212"


def duration(seconds: float | None) -> str:
    """A time span for people: "45 min", "5.2 h", "3.1 d"; a dash when unknown."""
    if seconds is None:
        return NONE
    sign = MINUS if seconds < 0 else ""
    s = abs(seconds)
    if s < 3600:
        return f"{sign}{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} d"


def when(value: datetime | None) -> str:
    """A timestamp in UTC to the minute, as the engine's logs and API show it."""
    if value is None:
        return NONE
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _maybe(fmt: Any) -> Any:
    return lambda value: NONE if value is None else fmt(value)


def _p_value(value: float | None) -> str:
    if value is None:
        return NONE
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def people_url(**who: Any) -> str:
    """The profile list behind a count (engine.web.people), without the empty filters."""
    return f"{PREFIX}/profiles?" + urlencode({k: v for k, v in who.items() if v not in (None, "")})


def here(request: Request, **params: str) -> str:
    """This page's URL, relative (path and query), with `params` set: links that stay on
    whatever host and scheme the browser used, behind any proxy."""
    query = dict(request.query_params) | params
    return f"{request.url.path}?{urlencode(query)}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=_maybe(plain),
        pct=_maybe(percent),
        lift=_maybe(signed_percent),
        pvalue=_p_value,
        duration=duration,
        when=when,
    )
    env.globals.update(prefix=PREFIX, people_url=people_url, here=here)
    return env


ENVIRONMENT = _environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """A page, with the security headers every dashboard response carries; with
    `format=csv&table=name`, that table of the page as a CSV download (engine.web.export)."""
    page = ENVIRONMENT.get_template(template).render(request=request, **context)
    table = request.query_params.get("table")
    if status_code == 200 and request.query_params.get("format") == "csv" and table:
        page_name = request.url.path.rstrip("/").rsplit("/", 1)[-1] or "dashboard"
        filename = quote(f"{page_name}-{table}.csv", safe="")
        headers = SECURITY_HEADERS | {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(table_csv(page, table), media_type="text/csv", headers=headers)
    return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)
