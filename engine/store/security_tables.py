"""Tables of the install's own identity and of dashboard sign-outs.

`installation` holds one row: a random id drawn once per database, so identifiers that
leave the system (email Message-IDs) never repeat across installs or after a reset.
`revoked_sessions` lists dashboard sessions ended by logout until they would have expired.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.store.base import UTCDateTime


class Installation(SQLModel, table=True):
    __tablename__ = "installation"

    id: int | None = Field(default=None, primary_key=True)
    install_id: str = Field(max_length=32)


class RevokedSession(SQLModel, table=True):
    """A logged-out session's nonce; the row can go once the session would have expired."""

    __tablename__ = "revoked_sessions"

    nonce: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
