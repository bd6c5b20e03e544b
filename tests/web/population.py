"""A small onboarding population written through the real pipeline, for dashboard tests.

Forty profiles of three personas (and ten without one) sign up over three weeks; most log
in, some send a campaign (activation), a few explore or integrate. Messages go through
`engine.pipeline.process_messages` with the example catalog, timers run at their due times
on the shared frozen clock, and a dispatcher "sends" emails and webhooks through a channel
that fails for addresses at bounce.example, so deliveries end sent, skipped (no address)
or failed, as in production. Every number the dashboard shows is then checked against
plain SQL over these rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from engine.catalog.catalog import Catalog
from engine.channels.base import Message, SendResult
from engine.channels.dispatch import Dispatcher
from engine.channels.email import EmailOptions
from engine.clock import FrozenClock
from engine.flows.repository import timers
from engine.flows.tasks import run_due_timers
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import write_transaction

PROFILES = 40
ROLES = [
    ("marketer", "beginner"),  # beginner_marketer
    ("developer", "expert"),  # power_user
    ("admin", "intermediate"),  # team_admin
    ("designer", "intermediate"),  # no persona unless trial_evaluator
]


class BouncingChannel:
    """Sends everything, except emails to bounce.example, which fail permanently."""

    def send(self, message: Message) -> SendResult:
        if "bounce.example" in message.recipient:
            return SendResult("failed", "550 5.1.1 mailbox unavailable")
        return SendResult("sent", "ok")


def journeys() -> list[tuple[int, str, list[tuple[float, str, dict[str, Any]]]]]:
    """(signup hour, user id, [(hours after signup, event, properties)]) per profile."""
    out = []
    for i in range(PROFILES):
        steps: list[tuple[float, str, dict[str, Any]]] = []
        if i % 3 == 0:
            steps.append((-5.0, "page_viewed", {}))
        steps.append((0.0, "signed_up", {}))
        if i % 7 != 6:
            steps.append((0.5 + i % 4, "logged_in", {}))
            if i % 2 == 0:
                steps.append((30.0 + 5 * (i % 5), "campaign_created", {}))
            if i % 5 in (0, 1, 2):
                steps.append((40.0 + 11 * (i % 9), "campaign_sent", {"is_test": False}))
                if i % 4 == 0:
                    steps.append((150.0 + i, "automation_created", {}))
        if i % 8 == 3:
            steps.append((90.0, "integration_connected", {}))
        out.append((i * 12, f"user-{i:02d}", sorted(steps)))
    return out


def traits(i: int) -> dict[str, Any]:
    role, experience = ROLES[i % len(ROLES)]
    found: dict[str, Any] = {"role": role, "email_experience": experience, "plan": "pro"}
    if i % 10 != 9:  # every tenth profile has no address: its emails are skipped
        domain = "bounce.example" if i % 6 == 5 else "example.com"
        found["email"] = f"user{i}@{domain}"
    return found


def populate(engine: Engine, catalog: Catalog, clock: FrozenClock) -> None:
    """Play every journey on `clock`, in time order, with timers and deliveries."""
    start = clock.now()
    plays: list[tuple[float, int, str, str, dict[str, Any]]] = []
    for index, (hour, user, steps) in enumerate(journeys()):
        plays.append((hour - 6.0, index, user, "", {}))  # identify first
        plays += [(hour + at, index, user, event, props) for at, event, props in steps]
    dispatcher = Dispatcher(
        engine,
        lambda: catalog,
        {"email": BouncingChannel(), "webhook": BouncingChannel()},
        clock,
        EmailOptions(
            "https://parcours.test",
            "test-link-secret",
            "unsubscribe@parcours.test",
            "t@parcours.test",
        ),
    )
    for n, (hours, index, user, event, props) in enumerate(sorted(plays)):
        _advance(engine, catalog, clock, dispatcher, start + timedelta(hours=hours))
        if event:
            message = {"type": "track", "userId": user, "event": event, "properties": props}
        else:
            message = {"type": "identify", "userId": user, "traits": traits(index)}
        message |= {"messageId": f"web-{n}", "timestamp": clock.now().isoformat()}
        with write_transaction(engine) as conn:
            process_messages(conn, catalog, [MESSAGE_ADAPTER.validate_python(message)], clock.now())
        dispatcher.run_once()
    # Two days on: the earliest profiles are past every window, the latest still wait.
    _advance(engine, catalog, clock, dispatcher, clock.now() + timedelta(days=2))


def _advance(
    engine: Engine, catalog: Catalog, clock: FrozenClock, dispatcher: Dispatcher, target: Any
) -> None:
    """Move the clock to `target`, running each timer at its own due time on the way."""
    while True:
        with engine.connect() as conn:
            due = conn.execute(select(timers.c.due_at).order_by(timers.c.due_at).limit(1)).scalar()
        if due is None or due > target:
            break
        if due > clock.now():
            clock.advance(due - clock.now())
        run_due_timers(engine, catalog, clock.now())
        while dispatcher.run_once() > 0:
            pass
    if target > clock.now():
        clock.advance(target - clock.now())
