"""Applying the guardrails to messages about to reach a profile (see rules.py for the rules).

Emails and webhooks are held by the dispatcher just before sending; in-app items (tips,
tutorials) are delivered when a run decides them, so the cap is applied to a batch's
decisions just before they are written. Both count the profile's recent sends once per
batch, then spend that budget in flow priority order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.catalog.catalog import Catalog
from engine.flows import repository as repo
from engine.flows.delivery import journey_row
from engine.flows.writes import PlannedDelivery
from engine.guardrails.rules import FrequencyCap, QuietHours

QUIET = ("email",)  # in-app items wait in the app for the user; they are not pushed


@dataclass(frozen=True)
class Held:
    """A delivery the guardrails delay or skip: the row's new values and the journey entry."""

    values: dict[str, Any]
    journey: dict[str, Any]


class Budget:
    """What the frequency cap still allows each (profile, channel) within one batch."""

    def __init__(
        self, caps: Mapping[str, FrequencyCap], sent: Mapping[tuple[int, str], tuple[int, int]]
    ) -> None:
        self.caps = caps
        self.sent = dict(sent)  # (profile, channel) -> sent in the last day, last week

    def refusal(self, profile_id: int, channel: str) -> str | None:
        """The rule one more message would break, or None."""
        cap = self.caps.get(channel)
        if cap is None:
            return None
        return cap.broken(*self.sent.get((profile_id, channel), (0, 0)), channel)

    def spend(self, profile_id: int, channel: str) -> None:
        day, week = self.sent.get((profile_id, channel), (0, 0))
        self.sent[(profile_id, channel)] = (day + 1, week + 1)


@dataclass(frozen=True)
class Guardrails:
    caps: Mapping[str, FrequencyCap] = field(default_factory=dict)  # by channel
    quiet: QuietHours | None = None

    def budget(self, conn: Connection, profile_ids: Iterable[int], now: datetime) -> Budget:
        ids = set(profile_ids)
        sent = repo.recent_sends(conn, ids, list(self.caps), now) if self.caps and ids else {}
        return Budget(self.caps, sent)

    def hold(
        self, row: Mapping[str, Any], traits: Mapping[str, Any], now: datetime, budget: Budget
    ) -> Held | None:
        """Why `row` must not be sent now (delayed or skipped), or None to send it."""
        if self.quiet is not None and row["channel"] in QUIET:
            until = self.quiet.delay_until(now, traits.get("timezone"))
            if until is not None:
                zone = self.quiet.zone(traits.get("timezone"))
                local = until.astimezone(zone).strftime("%H:%M")
                reason = f"quiet hours until {local} {zone.key}"
                values = {"status": "pending", "next_attempt_at": until, "reason": reason}
                return self._held(row, now, values, "delayed", reason)
        broken = budget.refusal(row["profile_id"], row["channel"])
        if broken is not None:
            values = {"status": "skipped", "reason": broken, "next_attempt_at": None}
            return self._held(row, now, values, "skipped", broken)
        return None

    def cap_delivered(
        self,
        conn: Connection,
        planned: list[PlannedDelivery],
        catalog: Catalog,
        now: datetime,
    ) -> None:
        """Skip the batch's deliveries made at once (in-app items) that the cap refuses;
        higher-priority flows spend the budget first."""
        delivered = [
            p for p in planned if p.row["status"] == "sent" and p.row["channel"] in self.caps
        ]
        if not delivered:
            return
        budget = self.budget(conn, {p.row["profile_id"] for p in delivered}, now)
        for plan in sorted(delivered, key=lambda p: -catalog.priority_of(p.row["flow"])):
            profile_id, channel = plan.row["profile_id"], plan.row["channel"]
            broken = budget.refusal(profile_id, channel)
            if broken is None:
                budget.spend(profile_id, channel)
            else:
                plan.skip(broken)

    @staticmethod
    def _held(
        row: Mapping[str, Any], now: datetime, values: dict[str, Any], outcome: str, reason: str
    ) -> Held:
        run = {"id": row["run_id"]}
        entry = journey_row(run, now, row["step"], row["channel"], outcome, {"reason": reason})
        return Held(values | {"updated_at": now}, entry)


NO_GUARDRAILS = Guardrails()
