"""The guardrail rules, pure: given counts and clocks, whether and when a message may go.

- Frequency cap: at most `per_day` messages in any 24 hours and `per_week` in any 7 days
  per profile and channel, across all flows (0 disables a limit). A capped message is
  skipped with the rule it broke; when several flows compete in the same tick, the one with
  the higher `priority` is sent first, so it wins the remaining budget.
- Quiet hours: no email between `start` and `end` in the profile's `timezone` trait (IANA
  name, e.g. Europe/Paris; unknown or missing uses the default zone). A message due inside
  quiet hours is delayed to their end, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.clock import zone_of


@dataclass(frozen=True)
class FrequencyCap:
    per_day: int
    per_week: int

    def broken(self, sent_last_day: int, sent_last_week: int, channel: str) -> str | None:
        """The rule a new message would break, in words, or None."""
        if self.per_day and sent_last_day >= self.per_day:
            return f"frequency cap: {self.per_day} {channel} per day"
        if self.per_week and sent_last_week >= self.per_week:
            return f"frequency cap: {self.per_week} {channel} per week"
        return None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    default_zone: str = "UTC"

    @staticmethod
    def parse(text: str, default_zone: str = "UTC") -> QuietHours | None:
        """`21:00-08:00` (an empty string means no quiet hours)."""
        if not text.strip():
            return None
        start, _, end = text.partition("-")
        return QuietHours(
            time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), default_zone
        )

    def zone(self, name: object) -> ZoneInfo:
        return zone_of(name, self.default_zone)

    def delay_until(self, now: datetime, zone_name: object) -> datetime | None:
        """When quiet hours end, if `now` falls inside them in the profile's zone, else None."""
        local = now.astimezone(self.zone(zone_name))
        clock = local.time().replace(tzinfo=None)
        overnight = self.start > self.end
        inside = (
            (clock >= self.start or clock < self.end)
            if overnight
            else self.start <= clock < self.end
        )
        if not inside:
            return None
        end_day = (
            local.date() + timedelta(days=1) if overnight and clock >= self.start else local.date()
        )
        end = datetime.combine(end_day, self.end, tzinfo=local.tzinfo)
        return end.astimezone(UTC)
