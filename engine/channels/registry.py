"""The channels a deployment sends with, built from settings."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from engine.channels.base import Channel
from engine.channels.email import EmailOptions, OutboxTransport, message_id_suffix
from engine.channels.http_email import HttpEmailTransport
from engine.channels.smtp import SmtpTransport
from engine.channels.webhook import WebhookTransport
from engine.clock import Clock
from engine.config import Settings
from engine.guardrails.rules import FrequencyCap, QuietHours
from engine.guardrails.service import Guardrails
from engine.webhooks.sender import WebhookSender
from engine.webhooks.tasks import StepAttemptLog


def default_channels(
    settings: Settings,
    clock: Clock,
    webhooks: WebhookSender | None = None,
    engine: Engine | None = None,
) -> dict[str, Channel]:
    client = httpx.Client(timeout=10.0, follow_redirects=False)
    attempts = StepAttemptLog(engine, clock) if engine is not None else None
    webhook = WebhookTransport(sender=webhooks or webhook_sender(settings), attempts=attempts)
    return {"email": email_transport(settings, clock, client), "webhook": webhook}


def webhook_sender(settings: Settings) -> WebhookSender:
    return WebhookSender.create(
        allow_private=settings.webhook_allow_private,
        timeout=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
    )


def email_transport(settings: Settings, clock: Clock, client: httpx.Client) -> Channel:
    if settings.email_transport == "smtp":
        return SmtpTransport(settings.smtp_url, settings.email_from, clock)
    if settings.email_transport == "http":
        return HttpEmailTransport(
            settings.email_http_url, settings.email_http_token, settings.email_from, client
        )
    return OutboxTransport(settings.outbox_dir, settings.email_from, clock)


def email_options(settings: Settings, install_id: str) -> EmailOptions:
    return EmailOptions(
        settings.public_url,
        settings.link_secret,
        settings.unsubscribe_mailto,
        message_id_suffix(install_id, settings.email_from),
    )


def guardrails_of(settings: Settings) -> Guardrails:
    caps = {
        "email": FrequencyCap(settings.cap_email_per_day, settings.cap_email_per_week),
        "tip": FrequencyCap(settings.cap_tip_per_day, settings.cap_tip_per_week),
        "tutorial": FrequencyCap(settings.cap_tutorial_per_day, settings.cap_tutorial_per_week),
    }
    return Guardrails(
        {channel: cap for channel, cap in caps.items() if cap.per_day or cap.per_week},
        QuietHours.parse(settings.quiet_hours, settings.default_timezone),
    )
