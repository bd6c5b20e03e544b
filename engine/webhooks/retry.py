"""What an attempt leads to: delivered, retried later with backoff, or dead. Pure.

Retries use exponential backoff with jitter: the n-th retry waits between half and all of
min(6 h, 1 min * 2^(n-1)). With 12 attempts a failing endpoint is retried for about a day
(15 to 21 hours) before its message is dead-lettered, where it waits for a replay. A 429 or
503 with `Retry-After` is retried when the receiver asked instead, up to the longest wait.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
ASKS_TO_WAIT = frozenset({429, 503})  # the answers whose Retry-After is honoured

Outcome = Literal["sent", "retry", "failed"]


def backoff(attempts: int, rng: random.Random, longest: timedelta = LONGEST_RETRY) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    ceiling = min(longest, FIRST_RETRY * 2 ** min(attempts - 1, 30))
    return timedelta(seconds=rng.uniform(0.5, 1.0) * ceiling.total_seconds())


def next_wait(
    attempts: int,
    rng: random.Random,
    asked: timedelta | None,
    longest: timedelta = LONGEST_RETRY,
) -> timedelta:
    """The wait the receiver `asked` for (Retry-After), up to `longest`; else the backoff."""
    if asked is None:
        return backoff(attempts, rng, longest)
    return min(asked, longest)


def retry_after(header: str | None, now: datetime) -> timedelta | None:
    """The wait a `Retry-After` value asks for: delay-seconds or an HTTP-date (RFC 9110,
    10.2.3), never negative; None when absent or unreadable (the backoff applies)."""
    value = (header or "").strip()
    if value.isdigit():  # past 10 digits (300 years) every ask ends as the longest wait
        return timedelta(seconds=int(value) if len(value) <= 10 else 10**10)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as every HTTP-date is
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def status_outcome(status_code: int) -> Outcome:
    """2xx is delivered; 408, 429 and 5xx are worth retrying; anything else (including a
    redirect, which is never followed) will not change by itself."""
    if 200 <= status_code < 300:
        return "sent"
    if status_code in (408, 429) or status_code >= 500:
        return "retry"
    return "failed"
