"""`/demo-app` under `parcours demo --serve`: the sample SaaS app (engine/demo/app/), signed in
as a demo user with a tutorial or tip waiting, so a newcomer sees parcours.js run a tour
against the demo's data. Same origin as the API, so no CORS setting is needed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

from engine.api.state import AppState
from engine.errors import NotFound
from engine.inapp.repository import first_waiting_user
from engine.inapp.service import user_hash

APP_DIR = Path(__file__).parent / "app"


def sample_app_router(state: AppState, write_key: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/demo-app")
    def open_sample_app(request: Request) -> RedirectResponse:
        """The app's page, with the host, key, user and user hash parcours.js needs."""
        with state.engine.connect() as conn:
            user = first_waiting_user(conn, state.clock.now())
        if user is None:
            raise NotFound("no demo user has a tutorial or tip waiting")
        query = urlencode(
            {
                "host": str(request.base_url).rstrip("/"),
                "key": write_key,
                "user": user,
                "hash": user_hash(state.settings.inapp_secret, user),
            }
        )
        return RedirectResponse(f"/demo-app/index.html?{query}", status_code=303)

    @router.get("/demo-app/index.html")
    def get_sample_app() -> FileResponse:
        """The sample app itself (a static page)."""
        return FileResponse(APP_DIR / "index.html", media_type="text/html")

    return router
