"""Dashboard sessions: the admin key, typed once into a form, becomes a signed cookie.

The cookie holds `expiry.nonce.signature`, nothing secret: the signature is an HMAC-SHA256
under a key derived from the admin key, so any replica can check a cookie and changing
`PARCOURS_ADMIN_KEY` signs every dashboard user out. Logging out records the nonce until
the expiry (engine.web.sessions), so a copied cookie dies with the logout. The
cookie is HttpOnly (no script can read it; the pages run none anyway), SameSite=Strict (no
other site can make a browser send it) and Secure when the dashboard is served over https.

Pure functions of the key and the time, so they are tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from engine.compare import same_secret

SESSION_COOKIE = "parcours_dashboard"
SESSION_LIFETIME = timedelta(hours=12)
_PURPOSE = b"parcours dashboard session v1"


def _signing_key(admin_key: str) -> bytes:
    """A key for cookies only: a leaked cookie signature tells nothing about the admin key."""
    return hmac.new(admin_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _sign(admin_key: str, payload: str) -> str:
    return hmac.new(_signing_key(admin_key), payload.encode(), hashlib.sha256).hexdigest()


def issue_session(admin_key: str, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    """A new session token, valid until `now + lifetime`."""
    payload = f"{int((now + lifetime).timestamp())}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_sign(admin_key, payload)}"


def session_valid(admin_key: str, token: str | None, now: datetime) -> bool:
    """True for an unexpired token signed under this admin key (constant-time compare)."""
    if not token or token.count(".") != 2:
        return False
    payload, _, signature = token.rpartition(".")
    if not same_secret(_sign(admin_key, payload), signature):
        return False
    expiry = payload.split(".", 1)[0]
    return expiry.isdigit() and int(expiry) > now.timestamp()


def session_nonce(token: str) -> tuple[str, datetime]:
    """The nonce and expiry of a token `session_valid` accepted: what a logout revokes."""
    expiry, nonce, _ = token.split(".")
    return nonce, datetime.fromtimestamp(int(expiry), UTC)


def safe_next(target: str | None, default: str) -> str:
    """Where to go after logging in: a dashboard path only, never another site."""
    if not target or not target.startswith(default) or target.startswith("//"):
        return default
    if any(c in target for c in "\\\r\n"):
        return default
    return target
