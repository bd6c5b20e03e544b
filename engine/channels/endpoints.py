"""Links in emails: one-click unsubscribe (RFC 8058), the open pixel, click redirects.

No credentials: the signed token in the URL is the authority. The one-click POST answers
200 with no redirect, as mailbox providers expect; the GET only shows a confirmation form,
so link scanners that follow every URL never unsubscribe anyone.
"""

from __future__ import annotations

import base64
import contextlib
from html import escape

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from engine.api.deps import StateDep
from engine.channels import engagement
from engine.errors import NotFound
from engine.store.db import write_transaction

router = APIRouter(prefix="/v1", tags=["email links"])

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<meta name='viewport' content='width=device-width'></head>"
        f"<body style='font-family:sans-serif;max-width:32em;margin:4em auto'>{body}</body></html>"
    )
    return HTMLResponse(html)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def show_unsubscribe(token: str) -> HTMLResponse:
    """A confirmation page; following the link alone changes nothing."""
    form = (
        "<h1>Unsubscribe</h1><p>Stop receiving these emails?</p>"
        f"<form method='post' action='{escape(token)}'>"
        "<button type='submit'>Unsubscribe</button></form>"
    )
    return _page("Unsubscribe", form)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def post_unsubscribe(token: str, state: StateDep) -> HTMLResponse:
    """One-click unsubscribe: the address is suppressed at once."""

    def run() -> None:
        with write_transaction(state.engine) as conn:
            now = state.clock.now()
            engagement.unsubscribe(
                conn, state.catalog, state.settings.link_secret, token, now, state.guardrails
            )

    try:
        await run_in_threadpool(run)
    except engagement.InvalidLink as exc:
        raise NotFound(str(exc), code="invalid_link") from exc
    return _page(
        "Unsubscribed", "<h1>You are unsubscribed</h1><p>You will get no more of these emails.</p>"
    )


@router.get("/t/o/{token}")
async def track_open(token: str, state: StateDep) -> Response:
    """The open pixel: a 1x1 GIF, recording `email_opened` (an invalid token still gets it)."""

    def run() -> None:
        with write_transaction(state.engine) as conn:
            now = state.clock.now()
            engagement.opened(
                conn, state.catalog, state.settings.link_secret, token, now, state.guardrails
            )

    with contextlib.suppress(engagement.InvalidLink):
        await run_in_threadpool(run)
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


@router.get("/t/c/{token}")
async def track_click(token: str, state: StateDep, request: Request) -> RedirectResponse:
    """A tracked link: records `email_clicked` and redirects to the original address."""

    def run() -> str:
        with write_transaction(state.engine) as conn:
            now = state.clock.now()
            return engagement.clicked(
                conn, state.catalog, state.settings.link_secret, token, now, state.guardrails
            )

    try:
        url = await run_in_threadpool(run)
    except engagement.InvalidLink as exc:
        raise NotFound(str(exc), code="invalid_link") from exc
    return RedirectResponse(url, status_code=302)
