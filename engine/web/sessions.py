"""Logged-out dashboard sessions, kept until they would have expired.

A signed cookie stays valid by itself until its expiry; this list is what makes logout end
it on every replica. One primary-key read per dashboard page; logging out also clears the
entries whose sessions have expired since, so the table holds only live revocations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from engine.store.security_tables import RevokedSession
from engine.web.auth import session_nonce

revoked_sessions = RevokedSession.__table__  # type: ignore[attr-defined]


def revoke(conn: Connection, token: str, now: datetime) -> None:
    """End a valid session for good."""
    nonce, expires_at = session_nonce(token)
    conn.execute(delete(revoked_sessions).where(revoked_sessions.c.expires_at <= now))
    known = select(revoked_sessions.c.nonce).where(revoked_sessions.c.nonce == nonce)
    if conn.execute(known).first() is None:
        conn.execute(insert(revoked_sessions).values(nonce=nonce, expires_at=expires_at))


def is_revoked(conn: Connection, token: str) -> bool:
    nonce, _ = session_nonce(token)
    query = select(revoked_sessions.c.nonce).where(revoked_sessions.c.nonce == nonce)
    return conn.execute(query).first() is not None
