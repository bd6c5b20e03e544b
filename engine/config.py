"""Settings from the environment (`PARCOURS_*`), validated once at start-up."""

from __future__ import annotations

import os
from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from engine.errors import ConfigurationError
from engine.guardrails.rules import QuietHours

DEV_WRITE_KEY = "dev-write-key"
DEV_ADMIN_KEY = "dev-admin-key"
DEV_INAPP_SECRET = "dev-inapp-secret"
DEV_LINK_SECRET = "dev-link-secret"
# Shortest keys prod accepts: write keys ship in browsers and only need to be unguessable
# among sources; the other secrets sign or authorise, so they get 256 bits' worth of text.
MIN_WRITE_KEY = 16
MIN_SECRET = 32


_Secret = tuple[str, str, int, str | None]

# Settings that may hold a secret, so each may also come from a file named by
# PARCOURS_<NAME>_FILE (systemd credentials, Docker and Kubernetes secrets).
FILE_SETTINGS = (
    "database_url",
    "write_keys",
    "server_write_keys",
    "admin_key",
    "metrics_token",
    "link_secret",
    "inapp_secret",
    "smtp_url",
    "email_http_token",
)


class Settings(BaseSettings):
    """Everything configurable. In `prod`, default or missing secrets refuse to start."""

    model_config = SettingsConfigDict(env_prefix="PARCOURS_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite:///./var/parcours.db"
    # Public (browser) write keys: they may send events but never merge two identified
    # users (docs/ingestion.md, "Which key may merge profiles").
    write_keys: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEV_WRITE_KEY])
    # Secret server-side write keys: everything a public key may do, plus any alias.
    server_write_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_key: str = DEV_ADMIN_KEY
    # Bearer token Prometheus scrapes /metrics with (the admin key also works).
    metrics_token: str = ""
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
    # The zone of profiles without a valid `timezone` trait: for quiet hours, and for date
    # traits without a time (`2026-03-31` is midnight there) in conditions and waits.
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
    # Operations (docs/operations.md): log level and format, the worker's metrics listener
    # (127.0.0.1:port, 0 = none), how old the newest worker heartbeat may be before /readyz
    # says not ready, and which proxies' X-Forwarded-* headers uvicorn believes.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    worker_metrics_port: int = Field(0, ge=0, le=65_535)
    heartbeat_stale_seconds: float = Field(60.0, gt=0)
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"

    def __init__(self, **values: Any) -> None:
        """Any invalid setting is a ConfigurationError naming its variable, never a traceback."""
        values = {**secrets_from_files(values), **values}
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(invalid_settings(exc)) from None

    @field_validator("write_keys", "server_write_keys", "cors_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _parse_url(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL (sqlite:///path or postgresql://user:pass@host/db)"
            ) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _parse_quiet_hours(cls, value: str) -> str:
        try:
            QuietHours.parse(value)
        except ValueError:
            raise ValueError("expected HH:MM-HH:MM, e.g. 21:00-08:00 (empty: none)") from None
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone such as Europe/Paris") from None
        return value

    @model_validator(mode="after")
    def _transport_has_its_url(self) -> Settings:
        """The chosen email transport's URL must be usable before anything is sent."""
        if self.email_transport == "smtp" and not is_smtp_url(self.smtp_url):
            raise ValueError(f"{SMTP_URL_FORM} (PARCOURS_EMAIL_TRANSPORT is smtp)")
        if self.email_transport == "http":
            parts = urlsplit(self.email_http_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    "PARCOURS_EMAIL_HTTP_URL must be an http(s) URL "
                    "(PARCOURS_EMAIL_TRANSPORT is http)"
                )
        return self

    @field_validator("env", "email_transport", "log_level", "log_format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_secrets(self) -> None:
        """Refuse to run in production with a default, empty, short or repeated secret."""
        if self.env != "prod":
            return
        problems = [*self._key_problems(), *self._reused_secrets()]
        if not self.public_url.startswith("https://"):
            problems.append("PARCOURS_PUBLIC_URL must be https (one-click unsubscribe needs it)")
        if problems:
            raise ConfigurationError("refusing to start in prod: " + "; ".join(problems))

    def _secrets(self) -> list[_Secret]:
        """(variable, value, shortest length, development default) of every key we check."""
        found: list[_Secret] = [
            ("PARCOURS_WRITE_KEYS", k, MIN_WRITE_KEY, DEV_WRITE_KEY) for k in self.write_keys
        ]
        found += [
            ("PARCOURS_SERVER_WRITE_KEYS", k, MIN_SECRET, None) for k in self.server_write_keys
        ]
        found += [
            ("PARCOURS_ADMIN_KEY", self.admin_key, MIN_SECRET, DEV_ADMIN_KEY),
            ("PARCOURS_INAPP_SECRET", self.inapp_secret, MIN_SECRET, DEV_INAPP_SECRET),
            ("PARCOURS_LINK_SECRET", self.link_secret, MIN_SECRET, DEV_LINK_SECRET),
        ]
        if self.metrics_token:
            found.append(("PARCOURS_METRICS_TOKEN", self.metrics_token, MIN_SECRET, None))
        return found

    def _key_problems(self) -> list[str]:
        problems = []
        if not self.write_keys and not self.server_write_keys:
            problems.append("PARCOURS_WRITE_KEYS is empty and PARCOURS_SERVER_WRITE_KEYS too")
        for name, value, shortest, default in self._secrets():
            if value == default:
                verb = "contains" if name.endswith("_KEYS") else "is"
                problems.append(f"{name} {verb} the development default")
            elif len(value) < shortest:
                problems.append(f"{name} has a value shorter than {shortest} characters")
        return list(dict.fromkeys(problems))

    def _reused_secrets(self) -> list[str]:
        """Each key must be its own: a write key ships in browsers, so an admin key equal to
        it is public, and one secret for two purposes leaks both at once."""
        pairs = {
            f"{a} and {b} share a value"
            for (a, x, _, _), (b, y, _, _) in combinations(self._secrets(), 2)
            if x == y and a != b
        }
        return sorted(pairs)


def secrets_from_files(given: dict[str, Any]) -> dict[str, str]:
    """The settings named by PARCOURS_<NAME>_FILE, each the file's text without its trailing
    newline; a setting given both ways is refused (which one wins would be a guess)."""
    found = {}
    for name in FILE_SETTINGS:
        variable = f"PARCOURS_{name.upper()}"
        path = os.environ.get(f"{variable}_FILE")
        if not path:
            continue
        if variable in os.environ or name in given:
            raise ConfigurationError(
                f"invalid settings: {variable} and {variable}_FILE are both set; keep one"
            )
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"invalid settings: {variable}_FILE: cannot read {path} ({type(exc).__name__})"
            ) from None
        found[name] = text.removesuffix("\n").removesuffix("\r")
    return found


SMTP_URL_FORM = "PARCOURS_SMTP_URL must look like smtp://user:pass@host:587"


def is_smtp_url(url: str) -> bool:
    """smtp:// (STARTTLS) or smtps:// (TLS from the start), with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("smtp", "smtps") and bool(parts.hostname)


def invalid_settings(error: ValidationError) -> str:
    """One paragraph naming each bad variable; values are left out (they may be secrets)."""
    problems = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["loc"]:  # a field's own problem; a whole-settings check names its variables
            message = f"PARCOURS_{str(item['loc'][0]).upper()}: {message}"
        problems.append(message)
    return "invalid settings: " + "; ".join(problems)
