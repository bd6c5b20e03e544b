"""The channels a deployment sends with, built from settings."""

from __future__ import annotations

import httpx

from engine.channels.base import Channel
from engine.channels.email import OutboxTransport
from engine.channels.webhook import WebhookTransport
from engine.clock import Clock
from engine.config import Settings


def default_channels(settings: Settings, clock: Clock) -> dict[str, Channel]:
    return {
        "email": OutboxTransport(settings.outbox_dir, settings.email_from, clock),
        "webhook": WebhookTransport(httpx.Client(timeout=10.0, follow_redirects=False)),
    }
