"""Page snapshots: each page's aggregates are computed once and reused for a short time.

The aggregates scan hundreds of thousands of rows; a team reading a journey map does not
need them fresher than a minute, and several people opening the same page should not each
pay for the scan. As growth tools do (GrowthBook's result snapshots), every page says when
its numbers were computed and offers a refresh that recomputes them at once.

One cache per app (per process): a snapshot is keyed by the page and its filters. Two
requests for a missing snapshot compute it once; the second waits for the first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 60.0
MAX_SNAPSHOTS = 256


@dataclass(frozen=True)
class Snapshot:
    value: Any
    taken: float  # time.monotonic() when computed
    seconds: float  # how long computing it took


class SnapshotCache:
    """Keyed snapshots younger than `ttl` seconds; see the module docstring."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._snapshots: dict[Hashable, Snapshot] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], *, refresh: bool = False) -> T:
        """The snapshot of `key`, computed now if missing, older than the TTL or `refresh`."""
        fresh = self._fresh(key, refresh)
        if fresh is not None:
            return fresh.value  # type: ignore[no-any-return]
        with self._lock_of(key):
            fresh = self._fresh(key, refresh=False) if not refresh else None
            if fresh is not None:  # computed by a concurrent request while we waited
                return fresh.value  # type: ignore[no-any-return]
            started = time.monotonic()
            value = compute()
            done = time.monotonic()
            with self._guard:
                if len(self._snapshots) >= MAX_SNAPSHOTS:
                    self._snapshots.clear()  # filters are few; a full cache is stale anyway
                self._snapshots[key] = Snapshot(value, done, done - started)
            return value

    def age(self, key: Hashable) -> float | None:
        """Seconds since the snapshot of `key` was computed, or None."""
        snapshot = self._snapshots.get(key)
        return None if snapshot is None else time.monotonic() - snapshot.taken

    def clear(self) -> None:
        with self._guard:
            self._snapshots.clear()

    def _fresh(self, key: Hashable, refresh: bool) -> Snapshot | None:
        snapshot = self._snapshots.get(key)
        if refresh or snapshot is None or self.ttl <= 0:
            return None
        return snapshot if time.monotonic() - snapshot.taken < self.ttl else None

    def _lock_of(self, key: Hashable) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
