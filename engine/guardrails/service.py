"""Applying the guardrails to a delivery about to be sent (see rules.py for the rules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.flows import repository as repo
from engine.flows.delivery import journey_row
from engine.guardrails.rules import FrequencyCap, QuietHours

GUARDED = ("email",)  # in-app items wait in the app for the user; they are not pushed


@dataclass(frozen=True)
class Held:
    """A delivery the guardrails delay or skip: the row's new values and the journey entry."""

    values: dict[str, Any]
    journey: dict[str, Any]


@dataclass(frozen=True)
class Guardrails:
    cap: FrequencyCap = field(default_factory=lambda: FrequencyCap(0, 0))
    quiet: QuietHours | None = None

    def hold(
        self,
        conn: Connection,
        row: Mapping[str, Any],
        traits: Mapping[str, Any],
        now: datetime,
        sent_in_batch: int = 0,
    ) -> Held | None:
        """Why `row` must not be sent now (delayed or skipped), or None to send it.

        `sent_in_batch`: messages to this profile on this channel sent earlier in the same
        dispatcher batch, not yet recorded in the database.
        """
        if row["channel"] not in GUARDED:
            return None
        if self.quiet is not None:
            until = self.quiet.delay_until(now, traits.get("timezone"))
            if until is not None:
                zone = self.quiet.zone(traits.get("timezone"))
                local = until.astimezone(zone).strftime("%H:%M")
                reason = f"quiet hours until {local} {zone.key}"
                values = {"status": "pending", "next_attempt_at": until, "reason": reason}
                return self._held(row, now, values, "delayed", reason)
        if not (self.cap.per_day or self.cap.per_week):
            return None
        day, week = repo.recent_sends(conn, row["profile_id"], row["channel"], now)
        broken = self.cap.broken(day + sent_in_batch, week + sent_in_batch, row["channel"])
        if broken is not None:
            values = {"status": "skipped", "reason": broken, "next_attempt_at": None}
            return self._held(row, now, values, "skipped", broken)
        return None

    @staticmethod
    def _held(
        row: Mapping[str, Any], now: datetime, values: dict[str, Any], outcome: str, reason: str
    ) -> Held:
        run = {"id": row["run_id"]}
        entry = journey_row(run, now, row["step"], row["channel"], outcome, {"reason": reason})
        return Held(values | {"updated_at": now}, entry)
