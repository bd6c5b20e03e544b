"""One webhook attempt: sign, POST through the guarded client, and describe what happened.

Outcomes are data (`Attempt`), never exceptions, so the outbox and the flow channel record
them alike: status code, an excerpt of the answer, the error and how long it took.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson

from engine.clock import Clock, SystemClock
from engine.webhooks.guard import AddressGuard, Refused, guarded_client
from engine.webhooks.retry import ASKS_TO_WAIT, Outcome, status_outcome
from engine.webhooks.signing import webhook_headers

EXCERPT_CHARS = 500
_READ_BYTES = 4096  # never read more of an answer than the excerpt needs
USER_AGENT = "Parcours-Webhooks/1"
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Attempt:
    """What one POST produced."""

    outcome: Outcome
    status_code: int | None = None
    response: str = ""
    error: str | None = None
    duration_ms: int = 0
    retry_after: str | None = None  # the `Retry-After` of a 429 or 503, as received

    @property
    def why(self) -> str:
        """The status or error alone, never the answer's body: safe for logs."""
        if self.status_code is None:
            return self.error or self.outcome
        return f"HTTP {self.status_code}" + (f" ({self.error})" if self.error else "")

    @property
    def detail(self) -> str:
        """One line for a delivery's reason or a message's last error."""
        if self.status_code is None:
            return self.error or self.outcome
        text = f"HTTP {self.status_code}: {self.response[:200]}"
        return f"{text} ({self.error})" if self.error else text


class WebhookSender:
    """Sends signed webhook requests.

    The `webhook-timestamp` is wall time (`wall`), even when the engine runs on a virtual
    clock: receivers compare it with their own clock to refuse replays. A client built here
    checks addresses at connect time; a client passed in (a test's MockTransport, a legacy
    caller) gets the same check as a pre-flight before each request.

    `concurrency` requests are in flight at once (`imap`), so one slow receiver delays the
    others by at most its share of the threads, not by its whole timeout per message.
    """

    def __init__(
        self,
        guard: AddressGuard | None = None,
        client: httpx.Client | None = None,
        *,
        timeout: float = 10.0,
        concurrency: int = 8,
        wall: Clock | None = None,
        stopwatch: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.guard = guard or AddressGuard()
        self.preflight = client is not None
        self.client = client or guarded_client(self.guard, timeout)
        self.concurrency = max(1, concurrency)
        self.wall = wall or SystemClock()
        self.stopwatch = stopwatch
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def create(
        cls, *, allow_private: bool = False, timeout: float = 10.0, concurrency: int = 8
    ) -> WebhookSender:
        return cls(AddressGuard(allow_private), timeout=timeout, concurrency=concurrency)

    def imap(self, work: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """`work` over `items` with up to `concurrency` at once; results in order, each as
        soon as it and those before it are done."""
        if self.concurrency == 1 or len(items) < 2:
            return (work(item) for item in items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhooks")
        return self._pool.map(work, items)

    def deliver(
        self, url: str, message_id: str, payload: Mapping[str, Any], keys: Sequence[bytes]
    ) -> Attempt:
        """POST `payload` to `url`, signed with every key (none: unsigned)."""
        body = orjson.dumps(payload)
        stamp = int(self.wall.now().timestamp())
        headers = webhook_headers(keys, message_id, stamp, body) | {"user-agent": USER_AGENT}
        started = self.stopwatch()
        try:
            if self.preflight:
                self.guard.check_url(url)
            with self.client.stream("POST", url, content=body, headers=headers) as response:
                excerpt = _excerpt(response)
        except Refused as exc:
            return Attempt("failed", error=f"refused: {exc}", duration_ms=self._ms(started))
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Attempt("retry", error=error, duration_ms=self._ms(started))
        return _judge(response, excerpt, self._ms(started))

    def _ms(self, started: float) -> int:
        return round((self.stopwatch() - started) * 1000)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        self.client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _excerpt(response: httpx.Response) -> str:
    """The first characters of the answer, without reading a huge body in full."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= _READ_BYTES:
            break
    return data[:_READ_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _judge(response: httpx.Response, excerpt: str, duration_ms: int) -> Attempt:
    outcome = status_outcome(response.status_code)
    error = None
    if response.is_redirect:
        location = response.headers.get("location", "")
        error = f"redirect to {location[:200]!r} not followed"
    asked = response.headers.get("retry-after") if response.status_code in ASKS_TO_WAIT else None
    return Attempt(outcome, response.status_code, excerpt, error, duration_ms, asked)
