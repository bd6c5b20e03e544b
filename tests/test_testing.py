"""The testing kit's clock: `advance` does everything at its own due time, in order — held
and retried deliveries too, not at the end of the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from engine.channels.base import Message, SendResult
from engine.clock import Clock
from engine.errors import NotFound
from engine.guardrails.rules import QuietHours
from engine.guardrails.service import Guardrails
from engine.testing import Simulation
from tests.flows.content import content_with

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TRAITS = {"email": "s@example.com", "first_name": "S"}


@dataclass
class FlakyChannel:
    """Answers `retry` to the first `failures` sends, then `sent`; notes when each came."""

    clock: Clock
    failures: int
    calls: list[datetime] = field(default_factory=list)

    def send(self, message: Message) -> SendResult:
        self.calls.append(self.clock.now())
        if len(self.calls) <= self.failures:
            return SendResult("retry", "503 from the endpoint")
        return SendResult("sent", "200")


def test_an_email_held_by_quiet_hours_goes_when_they_end(tmp_path: Path) -> None:
    flow = "flow: late\ntrigger: {event: go}\nsteps: [{wait: 13h}, {email: welcome}]\n"
    quiet = Guardrails(quiet=QuietHours(time(21), time(8)))
    with Simulation(content_with(tmp_path / "c", late=flow), guardrails=quiet) as sim:
        sim.identify("u", **TRAITS)
        sim.track("u", "go")
        # Due Monday 22:00, held until Tuesday 08:00; the window ends Tuesday 21:00,
        # inside quiet hours again.
        sim.advance("36h")
        (delivery,) = sim.deliveries("u")
        assert delivery["status"] == "sent"
        assert delivery["sent_at"] == MONDAY.replace(day=6, hour=8)
        assert [m["Date"] for m in sim.emails("u")] == ["Tue, 06 Jan 2026 08:00:00 +0000"]


def test_a_retried_delivery_is_sent_at_its_retry_time(tmp_path: Path) -> None:
    flow = "flow: hook\ntrigger: {event: go}\nsteps: [{webhook: crm}]\n"
    with Simulation(content_with(tmp_path / "c", hook=flow)) as sim:
        flaky = FlakyChannel(sim.clock, failures=2)
        sim.dispatcher.channels = {**sim.dispatcher.channels, "webhook": flaky}
        sim.identify("u", **TRAITS)
        sim.track("u", "go")
        sim.advance("1d")
        first, second, third = flaky.calls
        assert first == MONDAY
        # Full-jitter backoff: half to all of 30 s, then of 60 s.
        assert timedelta(seconds=15) <= second - first <= timedelta(seconds=30)
        assert timedelta(seconds=30) <= third - second <= timedelta(seconds=60)
        (delivery,) = sim.deliveries("u")
        assert (delivery["status"], delivery["attempts"]) == ("sent", 3)
        assert delivery["sent_at"] == third


def test_every_moment_is_visited_in_order(tmp_path: Path) -> None:
    """Waits and a cron time inside one advance: each step happens at its own time."""
    flows = {
        "steps": "flow: steps\ntrigger: {event: go}\nsteps: [{wait: 2h}, {tip: shortcuts},"
        " {wait: 1d}, {tutorial: tour}]\n",
        "noon": "flow: noon\ntrigger: {schedule: '0 12 * * *'}\naudience: [beginner]\n"
        "steps: [{wait: 1h}, {tip: shortcuts}]\n",
    }
    with Simulation(content_with(tmp_path / "c", **flows)) as sim:
        sim.identify("u", email_experience="beginner")
        sim.track("u", "go")
        sim.advance("30h")
        sent = sorted((d["sent_at"], d["flow"], d["content"]) for d in sim.deliveries("u"))
        assert sent == [
            (MONDAY + timedelta(hours=2), "steps", "shortcuts"),
            (MONDAY + timedelta(hours=4), "noon", "shortcuts"),
            (MONDAY + timedelta(days=1, hours=2), "steps", "tour"),
        ]


def test_emails_of_a_user_are_their_deliveries_only(tmp_path: Path) -> None:
    flow = "flow: hello\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
    with Simulation(content_with(tmp_path / "c", hello=flow)) as sim:
        sim.identify("a", **TRAITS)
        sim.identify("b", first_name="B")  # no address: nothing can be sent to b
        sim.track("a", "go")
        sim.track("b", "go")
        sim.advance("1h")

        assert [m["To"] for m in sim.emails("a")] == ["s@example.com"]
        assert sim.emails("b") == []
        with pytest.raises(NotFound):  # a mistyped user id is an error, not everyone's mail
            sim.emails("nobody")
        assert len(sim.emails()) == 1
