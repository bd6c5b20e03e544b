"""This database's random install id (drawn by migration 0012_security)."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from engine.store.security_tables import Installation

installation = Installation.__table__  # type: ignore[attr-defined]


def install_id(engine: Engine) -> str:
    """The install id, drawn again only if its row is gone (a test truncating every table)."""
    with engine.connect() as conn:
        found = conn.execute(select(installation.c.install_id)).scalar()
    if found is not None:
        return str(found)
    try:
        with engine.begin() as conn:
            conn.execute(insert(installation).values(id=1, install_id=secrets.token_hex(8)))
    except IntegrityError:
        pass  # another process drew it first
    return install_id(engine)
