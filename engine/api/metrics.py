"""Prometheus metrics, one registry per app so tests and several apps never collide."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.channels.metrics import DeliveryMetrics
from engine.logs import log_access


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_received = Counter(
            "parcours_messages_received",
            "Messages received on the ingestion API, by type",
            ["type"],
            registry=self.registry,
        )
        self.events_stored = Counter(
            "parcours_events_stored", "Events stored (new message ids)", registry=self.registry
        )
        self.events_duplicate = Counter(
            "parcours_events_duplicate",
            "Messages skipped because their messageId was already stored",
            registry=self.registry,
        )
        self.messages_rejected = Counter(
            "parcours_messages_rejected",
            "Messages rejected and kept as dead letters",
            registry=self.registry,
        )
        self.aliases_refused = Counter(
            "parcours_aliases_refused",
            "Aliases sent with a public write key that named another identified user (no merge)",
            registry=self.registry,
        )
        self.http_requests = Histogram(
            "parcours_http_request_duration_seconds",
            "HTTP request latency by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.delivery = DeliveryMetrics(self.registry)


class MetricsMiddleware:
    """Times every request, for the latency histogram and the access log; a plain ASGI
    middleware to stay cheap on the ingestion path."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.http_requests.labels(
                scope["method"], _route(scope), str(status["code"])
            ).observe(seconds)
            log_access(scope, status["code"], seconds)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
