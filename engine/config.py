"""Settings from the environment (`PARCOURS_*`), validated once at start-up."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.errors import ConfigurationError

DEV_WRITE_KEY = "dev-write-key"
DEV_ADMIN_KEY = "dev-admin-key"
DEV_INAPP_SECRET = "dev-inapp-secret"
DEV_LINK_SECRET = "dev-link-secret"


class Settings(BaseSettings):
    """Everything configurable. In `prod`, default or missing secrets refuse to start."""

    model_config = SettingsConfigDict(env_prefix="PARCOURS_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite:///./var/parcours.db"
    write_keys: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEV_WRITE_KEY])
    admin_key: str = DEV_ADMIN_KEY
    content_dir: Path = Path(".")
    max_batch_bytes: int = 4 * 1024 * 1024
    max_call_bytes: int = 32 * 1024
    # How often time-relative stage/segment conditions are re-evaluated (at most 1 day).
    audience_interval_seconds: int = Field(300, ge=1, le=86_400)
    # How often matured experiment outcomes are folded (results compute the rest live).
    experiment_fold_interval_seconds: int = Field(900, ge=1, le=86_400)
    # How often the worker claims due timers and sends pending deliveries.
    tick_seconds: float = Field(1.0, gt=0, le=60)
    # A delivery claimed this long ago and still `sending` is assumed lost and sent again.
    delivery_lease_seconds: float = Field(300.0, gt=0)
    # Deliveries sent per dispatcher transaction. Small batches keep the API's tail latency
    # low when the worker shares its process (`serve`: p99 113 -> 49 ms at 25 instead of
    # 100, for 11% fewer emails/s); a separate `parcours worker` may raise it.
    delivery_batch: int = Field(25, ge=1, le=1_000)
    email_from: str = "Parcours <onboarding@parcours.local>"
    # Where Parcours is reachable from recipients: unsubscribe and tracking links point here.
    public_url: str = "http://127.0.0.1:8000"
    # Signs unsubscribe, open and click links.
    link_secret: str = DEV_LINK_SECRET
    unsubscribe_mailto: str = "unsubscribe@parcours.local"
    email_transport: Literal["outbox", "smtp", "http"] = "outbox"
    # Guardrails (off when 0 / empty): messages per profile per day and per week across all
    # flows, per channel, and quiet hours for email ("21:00-08:00") in the profile's
    # `timezone` trait.
    cap_email_per_day: int = Field(0, ge=0)
    cap_email_per_week: int = Field(0, ge=0)
    cap_tip_per_day: int = Field(0, ge=0)
    cap_tip_per_week: int = Field(0, ge=0)
    cap_tutorial_per_day: int = Field(0, ge=0)
    cap_tutorial_per_week: int = Field(0, ge=0)
    quiet_hours: str = ""
    default_timezone: str = "UTC"
    outbox_dir: Path = Path("var/outbox")
    # smtp://user:password@host:587 (STARTTLS) or smtps://... (TLS from the start)
    smtp_url: str = ""
    # An HTTP email API taking JSON {from, to, subject, html, text, headers}; bearer token.
    email_http_url: str = ""
    email_http_token: str = ""
    # Signs user ids for the browser-facing in-app API (identity verification).
    inapp_secret: str = DEV_INAPP_SECRET
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Outbound webhooks (docs/webhooks.md): allow loopback/private/link-local receivers, the
    # timeout of one attempt, requests in flight per worker, attempts before a message is dead,
    # and the longest wait before a retry (the backoff's cap, and of a receiver's Retry-After).
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60)
    webhook_concurrency: int = Field(8, ge=1, le=64)
    webhook_max_attempts: int = Field(12, ge=1, le=30)
    webhook_max_backoff_seconds: float = Field(21_600.0, gt=0, le=604_800)

    @field_validator("write_keys", "cors_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_secrets(self) -> None:
        """Refuse to run in production with a default, empty or short secret."""
        if self.env != "prod":
            return
        problems = []
        if not self.write_keys:
            problems.append("PARCOURS_WRITE_KEYS is empty")
        if DEV_WRITE_KEY in self.write_keys:
            problems.append("PARCOURS_WRITE_KEYS contains the development default")
        if self.admin_key == DEV_ADMIN_KEY or len(self.admin_key) < 16:
            problems.append("PARCOURS_ADMIN_KEY is the default or shorter than 16 characters")
        if self.inapp_secret == DEV_INAPP_SECRET or len(self.inapp_secret) < 16:
            problems.append("PARCOURS_INAPP_SECRET is the default or shorter than 16 characters")
        if self.link_secret == DEV_LINK_SECRET or len(self.link_secret) < 16:
            problems.append("PARCOURS_LINK_SECRET is the default or shorter than 16 characters")
        if not self.public_url.startswith("https://"):
            problems.append("PARCOURS_PUBLIC_URL must be https (one-click unsubscribe needs it)")
        if problems:
            raise ConfigurationError("refusing to start in prod: " + "; ".join(problems))
