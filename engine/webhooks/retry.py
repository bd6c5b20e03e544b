"""What an attempt leads to: delivered, retried later with backoff, or dead. Pure.

Retries use exponential backoff with jitter: the n-th retry waits between half and all of
min(6 h, 1 min * 2^(n-1)). With 12 attempts a failing endpoint is retried for about a day
(15 to 21 hours) before its message is dead-lettered, where it waits for a replay.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Literal

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)

Outcome = Literal["sent", "retry", "failed"]


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    ceiling = min(LONGEST_RETRY, FIRST_RETRY * 2 ** min(attempts - 1, 30))
    return timedelta(seconds=rng.uniform(0.5, 1.0) * ceiling.total_seconds())


def status_outcome(status_code: int) -> Outcome:
    """2xx is delivered; 408, 429 and 5xx are worth retrying; anything else (including a
    redirect, which is never followed) will not change by itself."""
    if 200 <= status_code < 300:
        return "sent"
    if status_code in (408, 429) or status_code >= 500:
        return "retry"
    return "failed"
