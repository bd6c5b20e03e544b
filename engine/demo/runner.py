"""Drives the demo: a population sends its events through the real HTTP API while the
engine's clock moves in steps, each step running the timers and the dispatcher in process.

The server runs in this process (uvicorn in a thread) with an injected clock, so 30 days of
onboarding pass in about a minute. Events go through `POST /v1/batch`, and each user's app
reads its tutorials and tips with `GET /v1/inapp/{user}` and answers with the outcome API,
as a SaaS frontend would.
"""

from __future__ import annotations

import email
import email.message
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.api.state import AppState
from engine.channels.registry import default_channels
from engine.clock import FrozenClock
from engine.config import Settings
from engine.demo.population import SimUser, day_events, population, signup_events
from engine.demo.server import serve_in_thread
from engine.experiments.service import fold_experiments
from engine.flows.tasks import fire_schedules, run_due_timers
from engine.inapp.service import user_hash
from engine.pipeline import process_time_passed
from engine.store.db import create_db_engine
from engine.store.migrate import upgrade
from engine.testing import RecordingChannel

START = datetime(2026, 3, 2, 8, tzinfo=UTC)  # a Monday
STEP = timedelta(hours=12)
WRITE_KEY = "demo-write-key"
ADMIN_KEY = "demo-admin-key-0123456789"
INAPP_SECRET = "demo-inapp-secret"
_TRACKED = re.compile(r"https?://[^\s\"'<>]+/v1/t/[oc]/[A-Za-z0-9_.=-]+")
POLL_DAYS = (0, 3)  # days after signup on which a user's app shows in-app items


@dataclass(frozen=True)
class DemoConfig:
    users: int = 5_000
    days: int = 30
    signup_days: int = 20
    seed: int = 7
    directory: Path = Path("var/demo")
    content_dir: Path = Path(".")


@dataclass
class DemoRun:
    settings: Settings
    engine: Engine
    clock: FrozenClock
    state: AppState
    users: list[SimUser] = field(default_factory=list)
    requests: int = 0
    events: int = 0
    emails_read: int = 0  # the newest delivery id whose email the recipients have seen


def settings_for(config: DemoConfig) -> Settings:
    config.directory.mkdir(parents=True, exist_ok=True)
    database = config.directory / "demo.db"
    for leftover in config.directory.glob("demo.db*"):
        leftover.unlink()
    return Settings(
        env="dev",
        database_url=f"sqlite:///{database}",
        content_dir=config.content_dir,
        outbox_dir=config.directory / "outbox",
        write_keys=[WRITE_KEY],
        admin_key=ADMIN_KEY,
        inapp_secret=INAPP_SECRET,
    )


def run_demo(config: DemoConfig, progress: Callable[[int, int], None]) -> DemoRun:
    """Simulate `config.days` days; `progress(done, total)` after each step."""
    settings = settings_for(config)
    engine = create_db_engine(settings.database_url, durable=False)
    upgrade(engine)
    clock = FrozenClock(START)
    channels = default_channels(settings, clock)
    # The example CRM endpoint is outside this machine: the demo records what it would get.
    channels["webhook"] = RecordingChannel()
    app = create_app(settings, engine=engine, clock=clock, channels=channels)
    run = DemoRun(settings, engine, clock, app.state.parcours)
    run.users = population(config.users, START, config.signup_days, config.seed)
    rng = random.Random(config.seed)
    steps = int(timedelta(days=config.days) / STEP)
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        for step in range(steps):
            _step(run, http, rng, START + step * STEP)
            progress(step + 1, steps)
    return run


def _step(run: DemoRun, http: httpx.Client, rng: random.Random, at: datetime) -> None:
    """One step: what users do now, through the API; then the engine's scheduled work."""
    due = [u for u in run.users if at <= u.signup_at < at + STEP]
    active = [u for u in run.users if u.signup_at < at and _slot(u) == (at.hour // 12)]
    messages: list[dict[str, Any]] = []
    for user in due:
        messages += [m | {"userId": user.user_id} for m in signup_events(user, rng)]
    for user in active:
        day = (at - user.signup_at).days
        messages += [m | {"userId": user.user_id} for m in day_events(user, rng, day)]
    _send(run, http, messages, at)
    _read_emails(run, http, rng)
    later = [u for u in active if (at - u.signup_at).days in POLL_DAYS and rng.random() < 0.5]
    viewers = due + later
    for user in viewers:
        _use_inapp(run, http, user, rng)
    run.clock.advance(STEP)
    _scheduled_work(run.state, run.clock.now(), daily=run.clock.now().hour < 6)


def _slot(user: SimUser) -> int:
    """The half of the day a user is usually active in (stable per user)."""
    return int(user.user_id[-2:]) % 2


def _send(run: DemoRun, http: httpx.Client, messages: list[dict[str, Any]], at: datetime) -> None:
    stamp = at.isoformat()
    for start in range(0, len(messages), 100):
        chunk = [m | {"timestamp": stamp} for m in messages[start : start + 100]]
        response = http.post("/v1/batch", json={"batch": chunk}, auth=(WRITE_KEY, ""))
        response.raise_for_status()
        run.requests += 1
        run.events += len(chunk)


def _read_emails(run: DemoRun, http: httpx.Client, rng: random.Random) -> None:
    """Recipients open the emails sent since the last step (the open pixel) and some click
    their first link, through the tracking routes, as a mail client would."""
    by_address = {u.traits["email"]: u for u in run.users}
    outbox = run.settings.outbox_dir
    new = sorted(
        (int(path.stem), path) for path in outbox.glob("*.eml") if int(path.stem) > run.emails_read
    )
    for delivery_id, path in new:
        run.emails_read = max(run.emails_read, delivery_id)
        message = email.message_from_bytes(path.read_bytes())
        user = by_address.get(str(message["To"]))
        if user is None or rng.random() >= user.persona.reads:
            continue
        links = _TRACKED.findall(_html_of(message))
        opens = [link for link in links if "/v1/t/o/" in link]
        clicks = [link for link in links if "/v1/t/c/" in link]
        for link in opens[:1] + (clicks[:1] if rng.random() < 1 / 3 else []):
            http.get(urlsplit(link).path)
            run.requests += 1


def _html_of(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _use_inapp(run: DemoRun, http: httpx.Client, user: SimUser, rng: random.Random) -> None:
    """The user's app shows its items; the user reads, completes or dismisses them."""
    headers = {"X-User-Hash": user_hash(INAPP_SECRET, user.user_id)}
    auth = (WRITE_KEY, "")
    items = http.get(f"/v1/inapp/{user.user_id}", headers=headers, auth=auth).json()["items"]
    run.requests += 1
    for item in items:
        if item["kind"] == "tip" and rng.random() < 0.5:
            continue  # many tips are simply ignored
        done = user.persona.completes if item["kind"] == "tutorial" else 0.6
        outcome = "completed" if rng.random() < done else "dismissed"
        http.post(f"/v1/inapp/{user.user_id}/{item['id']}/{outcome}", headers=headers, auth=auth)
        run.requests += 1
        if outcome == "completed":
            user.used.add(item["name"])


def _scheduled_work(state: AppState, now: datetime, *, daily: bool) -> None:
    """What the embedded worker does, run in step with the demo clock."""
    while run_due_timers(state.engine, state.catalog, now, guardrails=state.guardrails) > 0:
        pass
    if daily:
        process_time_passed(state.engine, state.catalog, now, state.guardrails)
        fire_schedules(state.engine, state.catalog, now, state.guardrails)
        fold_experiments(state.engine, state.catalog, now)
    assert state.dispatcher is not None
    while state.dispatcher.run_once(limit=500) > 0:
        pass
