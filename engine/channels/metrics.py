"""Prometheus counters of delivery: what an operator graphs and alerts on when a channel fails.

Registered in the app's registry (`engine.api.metrics.Metrics.delivery`), so `/metrics` of
`parcours serve` shows them; a dispatcher or task built without one counts in a registry of
its own, so the code that counts never checks for it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.attempts = Counter(
            "parcours_delivery_attempts",
            "Flow step deliveries attempted, by channel and outcome (sent, retry, failed)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.failed = Counter(
            "parcours_delivery_failed",
            "Flow step deliveries given up on: a permanent failure or out of attempts",
            ["channel"],
            registry=registry,
        )
        self.webhook_attempts = Counter(
            "parcours_webhook_attempts",
            "Webhook event messages attempted, by outcome (sent, retry, failed)",
            ["outcome"],
            registry=registry,
        )
        self.webhook_dead_letters = Counter(
            "parcours_webhook_dead_letters",
            "Webhook event messages dead-lettered (failed permanently or too often)",
            registry=registry,
        )
