"""What every request needs, built once per app."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from engine.api.metrics import Metrics
from engine.catalog.catalog import Catalog
from engine.catalog.problems import Problem
from engine.channels.dispatch import Dispatcher
from engine.clock import Clock
from engine.compare import same_secret
from engine.config import Settings
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.webhooks.sender import WebhookSender


def fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a write key, safe to store and log."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    clock: Clock
    catalog: Catalog
    catalog_loaded_at: datetime
    # Problems of the last refused reload; the live catalog is still the previous one.
    rejected_reload: list[Problem] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    guardrails: Guardrails = NO_GUARDRAILS
    dispatcher: Dispatcher | None = None
    webhooks: WebhookSender | None = None

    def source_for(self, write_key: str | None) -> str | None:
        """The source fingerprint of a valid write key (public or server), else None
        (constant-time compare)."""
        if not write_key:
            return None
        found = None
        for key in [*self.settings.write_keys, *self.settings.server_write_keys]:
            if same_secret(key, write_key):
                found = key
        return None if found is None else fingerprint(found)

    def is_server_source(self, source: str) -> bool:
        """Whether a source fingerprint is a server key's: only those merge identified users."""
        return source in {fingerprint(key) for key in self.settings.server_write_keys}

    def is_admin(self, token: str) -> bool:
        return same_secret(self.settings.admin_key, token)

    def may_read_metrics(self, token: str) -> bool:
        """The metrics token, when one is set, or the admin key (constant-time compares)."""
        metrics = self.settings.metrics_token
        return (bool(metrics) and same_secret(metrics, token)) or self.is_admin(token)
