"""A testing kit for product teams: run your content on a virtual clock, in your own CI.

    from engine.testing import Simulation

    def test_stalled_signups_get_help():
        with Simulation("path/to/content") as sim:
            sim.identify("u1", email="u1@example.com", role="marketer")
            sim.track("u1", "signed_up")
            sim.track("u1", "logged_in")
            sim.advance("3d")
            assert sim.delivered("u1", content="need-a-hand")

Everything runs for real — the same pipeline as the HTTP API, a throwaway SQLite database,
the timer tick and the dispatcher — except time, which moves only when told, and the outside
world: emails go to a file outbox, webhooks to a recording channel. See docs/testing-flows.md.
"""

from __future__ import annotations

import email
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message as MimeMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select

from engine.audience.repository import next_date_reevaluation, stage_entries
from engine.audience.tasks import time_horizon
from engine.catalog.catalog import Catalog, load_catalog
from engine.catalog.fields import Duration
from engine.channels.base import Channel, Message, SendResult
from engine.channels.dispatch import Dispatcher
from engine.channels.email import EmailOptions, OutboxTransport
from engine.clock import FrozenClock
from engine.flows.journey import journey
from engine.flows.repository import next_due
from engine.flows.tasks import fire_schedules, next_fire, run_due_timers
from engine.flows.timeline import timeline
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.inapp import service as inapp
from engine.ingest.schemas import MESSAGE_ADAPTER, AnyMessage
from engine.pipeline import process_due_dates, process_messages, process_time_passed
from engine.store.db import create_db_engine, write_transaction
from engine.store.migrate import upgrade

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday morning
SIM_URL = "https://simulation.parcours.local"
# How often time-relative conditions are re-evaluated: coarser than the worker's few
# minutes, so a month simulates in a few hundred steps.
REEVALUATE_EVERY = timedelta(hours=1)
_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


class InvalidContent(Exception):
    """The content directory does not validate; the message lists every problem."""


@dataclass
class RecordingChannel:
    """Stands in for the outside world (webhook endpoints): records, always succeeds."""

    sent: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> SendResult:
        self.sent.append(message)
        return SendResult("sent", "recorded")


class Simulation:
    """One Parcours with a virtual clock; use as a context manager (or call `close`).

    `reevaluate_every` is how often simulated time re-evaluates time-relative conditions.
    """

    def __init__(
        self,
        content: Path | str | Catalog = ".",
        *,
        start: datetime = DEFAULT_START,
        guardrails: Guardrails = NO_GUARDRAILS,
        reevaluate_every: timedelta = REEVALUATE_EVERY,
    ):
        self.catalog = content if isinstance(content, Catalog) else _load(Path(content))
        self._dir = Path(tempfile.mkdtemp(prefix="parcours-sim-"))
        self.engine = create_db_engine(f"sqlite:///{self._dir / 'sim.db'}", durable=False)
        upgrade(self.engine)
        self.start = start
        self.clock = FrozenClock(start)
        self.outbox = self._dir / "outbox"
        self.webhooks = RecordingChannel()
        channels: dict[str, Channel] = {
            "email": OutboxTransport(self.outbox, "Parcours <sim@parcours.local>", self.clock),
            "webhook": self.webhooks,
        }
        options = EmailOptions(
            SIM_URL,
            "simulation-link-secret",
            "unsubscribe@sim.parcours.local",
            "sim@parcours.local",
        )
        self.dispatcher = Dispatcher(
            self.engine, lambda: self.catalog, channels, self.clock, options, guardrails=guardrails
        )
        self.guardrails = guardrails
        self.reevaluate_every = reevaluate_every
        self._reevaluated_at = start
        self._sequence = 0
        # Cron clocks start with the simulation: the flows existed from its start on.
        fire_schedules(self.engine, self.catalog, start, guardrails)

    # -- what the SaaS app does ----------------------------------------------------------

    def identify(self, user_id: str, **traits: Any) -> None:
        self.send({"type": "identify", "userId": user_id, "traits": traits})

    def track(self, user_id: str, event: str, **properties: Any) -> None:
        self.send({"type": "track", "userId": user_id, "event": event, "properties": properties})

    def send(self, message: dict[str, Any]) -> None:
        """Any Segment message (dict), stamped now on the virtual clock."""
        self._sequence += 1
        data = {"messageId": f"sim-{self._sequence}", **message}
        data.setdefault("timestamp", self.clock.now().isoformat())
        self._process([MESSAGE_ADAPTER.validate_python(data)])
        self._settle()

    def respond(self, user_id: str, item: str, outcome: str = "completed") -> None:
        """The user saw, completed or dismissed the in-app item named `item`."""
        found = next((i for i in self.inapp(user_id) if i["name"] == item), None)
        if found is None:
            raise LookupError(f"{user_id} has no pending in-app item {item!r}")
        with write_transaction(self.engine) as conn:
            inapp.record_outcome(
                conn, self.catalog, user_id, found["id"], outcome, self.clock.now(), self.guardrails
            )
        self._settle()

    # -- time --------------------------------------------------------------------------------

    def advance(self, duration: str | timedelta) -> None:
        """Move the clock forward, stopping at every moment something is due on the way
        and doing it then, in time order: timers, deliveries held by quiet hours or waiting
        for a retry, cron times, the moments date conditions flip, and the periodic
        re-evaluation of time-relative stages and segments (every `reevaluate_every`, as the
        worker does every few minutes)."""
        step = _DURATION.validate_python(duration) if isinstance(duration, str) else duration
        target = self.clock.now() + step
        while (moment := self._next_moment()) is not None and moment <= target:
            self._work_at(moment, reevaluate=moment >= self._next_reevaluation())
        self._work_at(target, reevaluate=True)

    # -- what happened -----------------------------------------------------------------------

    def journey(self, user_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return journey(conn, inapp.profile_id_of(conn, user_id))

    def deliveries(self, user_id: str) -> list[dict[str, Any]]:
        return [
            {"flow": run["flow"], **delivery}
            for run in self.journey(user_id)
            for delivery in run["deliveries"]
        ]

    def delivered(
        self, user_id: str, *, step: str | None = None, content: str | None = None
    ) -> bool:
        """Whether a step (by id) or a content item (template, tip ...) reached the user."""
        return any(
            d["status"] == "sent"
            and (step is None or d["step"] == step)
            and (content is None or d["content"] == content)
            for d in self.deliveries(user_id)
        )

    def inapp(self, user_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return inapp.list_items(conn, user_id, self.clock.now())

    def emails(self, user_id: str | None = None) -> list[MimeMessage]:
        """Emails written to the outbox (of `user_id`'s deliveries, if given), oldest first."""
        if user_id is None:
            return [m for _, m in self._outbox()]
        ids = {d["id"] for d in self.deliveries(user_id) if d["channel"] == "email"}
        return [m for path, m in self._outbox() if int(path.stem) in ids]

    def _outbox(self) -> list[tuple[Path, MimeMessage]]:
        """(file, message) for every email written, in delivery order."""
        if not self.outbox.exists():
            return []
        files = sorted(self.outbox.glob("*.eml"), key=lambda p: int(p.stem))
        return [(p, email.message_from_bytes(p.read_bytes())) for p in files]

    def timeline(self, user_id: str) -> list[str]:
        """The profile's stages, runs, steps and deliveries, one line each, in time order, up
        to a line marking now (timers still to run come after it, as pending)."""
        subjects = {int(path.stem): m["Subject"] for path, m in self._outbox()}
        with self.engine.connect() as conn:
            pid = inapp.profile_id_of(conn, user_id)
            stages = {
                stage: at
                for stage, at in conn.execute(
                    select(stage_entries.c.stage, stage_entries.c.entered_at)
                    .where(stage_entries.c.profile_id == pid)
                    .order_by(stage_entries.c.entered_at, stage_entries.c.id)
                )
            }
        return timeline(self.start, stages, self.journey(user_id), subjects, self.clock.now())

    def close(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Simulation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _process(self, messages: list[AnyMessage]) -> None:
        with write_transaction(self.engine) as conn:
            process_messages(conn, self.catalog, messages, self.clock.now(), self.guardrails)

    def _settle(self) -> None:
        """Run due timers and send due deliveries until nothing is left to do now."""
        now = self.clock.now()
        while run_due_timers(self.engine, self.catalog, now, guardrails=self.guardrails) > 0:
            pass
        while self.dispatcher.run_once() > 0:
            pass

    def _work_at(self, moment: datetime, *, reevaluate: bool) -> None:
        """What the worker's jobs do when the clock reaches `moment`."""
        self.clock.advance(max(moment - self.clock.now(), timedelta(0)))
        now = self.clock.now()
        if reevaluate:
            process_time_passed(self.engine, self.catalog, now, self.guardrails)
            self._reevaluated_at = now
        else:  # date conditions flip at their own moments, not on the hourly beat
            process_due_dates(self.engine, self.catalog, now, self.guardrails)
        fire_schedules(self.engine, self.catalog, now, self.guardrails)
        self._settle()

    def _next_moment(self) -> datetime | None:
        """The next time after now at which some job has work."""
        now = self.clock.now()
        with self.engine.connect() as conn:
            times = [
                next_due(conn, now),
                next_fire(conn, self.catalog),
                next_date_reevaluation(conn, now),
            ]
        if time_horizon(self.catalog) is not None:
            times.append(self._next_reevaluation())
        return min((t for t in times if t is not None and t > now), default=None)

    def _next_reevaluation(self) -> datetime:
        return self._reevaluated_at + self.reevaluate_every


def _load(content: Path) -> Catalog:
    catalog, problems = load_catalog(content)
    if catalog is None:
        raise InvalidContent("\n".join(p.format() for p in problems))
    return catalog
