"""The dashboard's routes: thin handlers that read filters, fetch a snapshot, render a page.

    GET  /dashboard/login, POST /dashboard/login, POST /dashboard/logout
    GET  /dashboard                       overview
    GET  /dashboard/journey               journey map      ?flow= &persona= &days=
    GET  /dashboard/funnel                funnel, cohorts  ?persona= &days=
    GET  /dashboard/flows[/{flow}]        flows, one flow's steps and errors  ?days=
    GET  /dashboard/experiments[/{key}]   experiments, one experiment  ?in_progress=1
    GET  /dashboard/profiles[/{user_id}]  the profiles behind a count, search; one timeline
    GET  /dashboard/static/{name}         the stylesheet (public, like the login form)

Every page but the login form and the stylesheet needs the session cookie; without it the
browser is sent to the login form, which brings it back afterwards. `?refresh=1` recomputes
a page's snapshot (engine.web.cache).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.routing import APIRoute

from engine.api.deps import ConnectionDep, StateDep
from engine.api.state import AppState
from engine.errors import NotFound
from engine.experiments.service import list_experiments
from engine.store.db import write_transaction
from engine.web import auth, figures, flow_service, people, service, sessions
from engine.web.cache import SnapshotCache
from engine.web.experiment_service import experiment_page
from engine.web.render import PREFIX, STATIC, render
from engine.web.sql import NO_PERSONA

T = TypeVar("T")
STATIC_FILES = {"dashboard.css": "text/css", "favicon.svg": "image/svg+xml"}


class LoginRequired(Exception):
    """No valid session: the browser goes to the login form, then back to `target`."""

    def __init__(self, target: str) -> None:
        self.target = target


class DashboardRoute(APIRoute):
    """Turns a missing session into a redirect and an unknown name into an HTML 404, so
    dashboard pages never answer with the API's JSON errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(f"{PREFIX}/login?next={quote(exc.target)}", 303)
            except NotFound as exc:
                return render(request, "not_found.html", 404, message=exc.message)

        return route


def _live_session(state: AppState, token: str | None) -> str | None:
    """The token of a signed, unexpired session that was not logged out, else None."""
    if not auth.session_valid(state.settings.admin_key, token, state.clock.now()):
        return None
    assert token is not None
    with state.engine.connect() as conn:
        return None if sessions.is_revoked(conn, token) else token


def require_session(request: Request, state: StateDep) -> None:
    if _live_session(state, request.cookies.get(auth.SESSION_COOKIE)) is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)


public = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
pages = APIRouter(
    prefix=PREFIX,
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(require_session)],
)


@public.get("/login")
def show_login(request: Request, next: str = PREFIX) -> Response:
    """The login form: one field, the admin key."""
    return render(request, "login.html", next=auth.safe_next(next, PREFIX), error=None)


@public.post("/login")
async def log_in(request: Request, state: StateDep) -> Response:
    """Check the admin key; on success set the session cookie and go where the user was."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("admin_key") or [""])[0]
    target = auth.safe_next((form.get("next") or [PREFIX])[0], PREFIX)
    if not key or not state.is_admin(key):
        error = "That is not the admin key."
        return render(request, "login.html", 401, next=target, error=error)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        auth.issue_session(state.settings.admin_key, state.clock.now()),
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@public.post("/logout")
def log_out(request: Request, state: StateDep) -> Response:
    """End the session on the server (the cookie stops working everywhere) and forget it."""
    token = _live_session(state, request.cookies.get(auth.SESSION_COOKIE))
    if token is not None:
        with write_transaction(state.engine) as conn:
            sessions.revoke(conn, token, state.clock.now())
    response = RedirectResponse(f"{PREFIX}/login", 303)
    response.delete_cookie(auth.SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


@public.get("/static/{name}")
def get_static(name: str) -> Response:
    """The stylesheet and icon, from the package: no CDN, no external font."""
    if name not in STATIC_FILES:
        raise NotFound(f"no static file {name!r}")
    headers = {"Cache-Control": "public, max-age=3600"}
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers=headers)


def _snapshot_page(
    request: Request,
    state: AppState,
    template: str,
    key: Hashable,
    compute: Callable[[], T],
    filters: service.Filters | None = None,
    figures_of: Callable[[T], Any] | None = None,
) -> Response:
    """A page rendered from the snapshot of `key` in this app's cache (computed on a miss,
    or on `?refresh=1`), with its age and, when given, its charts."""
    cache: SnapshotCache | None = getattr(request.app.state, "dashboard_snapshots", None)
    if cache is None:
        cache = request.app.state.dashboard_snapshots = SnapshotCache()
    refresh = request.query_params.get("refresh") == "1"
    page = cache.get(key, compute, refresh=refresh)
    charts = {} if figures_of is None else {"figures": figures_of(page)}
    age = cache.age(key) or 0.0
    return render(request, template, page=page, age=age, **charts, **_common(state, filters))


def _filters(
    state: AppState, flow: str | None, persona: str | None, days: int | None
) -> service.Filters:
    catalog = state.catalog
    return service.Filters(
        flow=flow if flow in catalog.flows else None,
        persona=persona if persona in catalog.segments or persona == NO_PERSONA else None,
        days=days if days in service.PERIODS else service.DEFAULT_DAYS,
    )


def _common(state: AppState, filters: service.Filters | None = None) -> dict[str, Any]:
    return {
        "catalog": state.catalog,
        "personas": [*state.catalog.segments, NO_PERSONA],
        "periods": service.PERIODS,
        "filters": filters or service.Filters(),
        "now": state.clock.now(),
    }


@pages.get("")
def show_overview(
    request: Request, state: StateDep, conn: ConnectionDep, days: int | None = None
) -> Response:
    """Headline numbers, stage totals, signups per week, flows and experiments."""
    filters = _filters(state, None, None, days)
    now = state.clock.now()
    return _snapshot_page(
        request,
        state,
        "overview.html",
        ("overview", filters.days),
        lambda: service.overview(conn, state.catalog, now, filters.days),
        filters,
        figures.overview_figures,
    )


@pages.get("/journey")
def show_journey_map(
    request: Request,
    state: StateDep,
    conn: ConnectionDep,
    flow: str | None = None,
    persona: str | None = None,
    days: int | None = None,
) -> Response:
    """The customer journey map of a flow (or everyone) and a persona."""
    filters = _filters(state, flow, persona, days)
    now = state.clock.now()
    return _snapshot_page(
        request,
        state,
        "journey.html",
        ("journey", filters),
        lambda: service.journey_map(conn, state.catalog, now, filters),
        filters,
    )


@pages.get("/funnel")
def show_funnel(
    request: Request,
    state: StateDep,
    conn: ConnectionDep,
    persona: str | None = None,
    days: int | None = None,
) -> Response:
    """The stage funnel and signup-week cohorts, for one persona or everyone."""
    filters = _filters(state, None, persona, days)
    now = state.clock.now()
    return _snapshot_page(
        request,
        state,
        "funnel.html",
        ("funnel", filters),
        lambda: service.funnel(conn, state.catalog, now, filters),
        filters,
        figures.funnel_figures,
    )


@pages.get("/flows")
def list_flows(request: Request, state: StateDep) -> Response:
    """Every flow of the live content."""
    return render(request, "flows.html", **_common(state))


@pages.get("/flows/{flow}")
def show_flow(
    request: Request, flow: str, state: StateDep, conn: ConnectionDep, days: int | None = None
) -> Response:
    """One flow: runs by outcome, per-step counts, failed deliveries."""
    filters = _filters(state, flow, None, days)
    since = filters.since(state.clock.now())
    return _snapshot_page(
        request,
        state,
        "flow.html",
        ("flow", flow, filters.days),
        lambda: flow_service.flow_page(conn, state.catalog, flow, since, filters.days),
        filters,
        figures.flow_figures,
    )


@pages.get("/experiments")
def list_experiment_pages(request: Request, state: StateDep, conn: ConnectionDep) -> Response:
    """Every experiment with its exposures per variant."""
    listing = list_experiments(conn, state.catalog).data
    return render(request, "experiments.html", experiments=listing, **_common(state))


@pages.get("/experiments/{key}")
def show_experiment(
    request: Request, key: str, state: StateDep, conn: ConnectionDep, in_progress: bool = False
) -> Response:
    """Rates, lifts with intervals, cumulative lift, SRM and personas of one experiment."""
    now = state.clock.now()
    return _snapshot_page(
        request,
        state,
        "experiment.html",
        ("experiment", key, in_progress),
        lambda: experiment_page(conn, state.catalog, key, now, in_progress),
        figures_of=figures.experiment_figures,
    )


@pages.get("/profiles")
def list_profiles(
    request: Request,
    state: StateDep,
    conn: ConnectionDep,
    q: str = "",
    stage: str | None = None,
    flow: str | None = None,
    step: str | None = None,
    figure: str | None = None,
    outcome: str | None = None,
    status: str | None = None,
    reason: str | None = None,
    at: str | None = None,
    event: str | None = None,
    channel: str | None = None,
    content: str | None = None,
    cohort: int | None = None,
    persona: str | None = None,
    days: int = 0,
    page: int = 0,
) -> Response:
    """The profiles behind a count (engine.web.people), or the ones a search finds; an
    exact user id with no other filter goes straight to that profile."""
    catalog, text = state.catalog, q.strip()
    stages = {s.stage for s in catalog.stages}
    who = people.Who(
        stage=stage if stage in stages else None,
        flow=flow if flow in catalog.flows else None,
        step=step or None,
        figure=figure if figure in people.STEP_FIGURES else None,
        outcome=outcome if step else None,
        status=status if status in people.RUN_STATUSES else None,
        reason=reason if status else None,
        at=at if at in stages else None,
        event=event or None,
        channel=channel or None,
        content=content or None,
        cohort=cohort,
        persona=persona if persona in catalog.segments or persona == NO_PERSONA else None,
        days=days if days in service.PERIODS else 0,
        q=text,
    )
    if text and who == people.Who(q=text) and flow_service.profile_exists(conn, text):
        return RedirectResponse(f"{PREFIX}/profiles/{quote(text, safe='')}", 303)
    since = service.Filters(days=who.days).since(state.clock.now())
    listing = people.profile_list(conn, service.anchor_of(catalog), who, since, page)
    return render(request, "profiles.html", listing=listing, **_common(state))


@pages.get("/profiles/{user_id}")
def show_profile(request: Request, user_id: str, state: StateDep, conn: ConnectionDep) -> Response:
    """One profile's journey: events, stages, flow steps with reasons, deliveries, timers."""
    page = flow_service.profile_page(conn, user_id)
    return render(request, "profile.html", page=page, **_common(state))


router = APIRouter()
router.include_router(public)
router.include_router(pages)
