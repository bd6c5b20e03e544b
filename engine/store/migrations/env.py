"""Alembic environment: uses the engine handed over by engine.store.migrate, or the URL
from PARCOURS_DATABASE_URL when run as `alembic` from the repository root."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import engine.store  # noqa: F401  (registers the tables on the metadata)
from engine.config import Settings
from engine.store.db import create_db_engine

config = context.config
db_engine = config.attributes.get("engine") or create_db_engine(Settings().database_url)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Outside any transaction (SQLite ignores the pragma inside one): a batch migration
    drops and recreates a table, and with foreign keys on, the drop would delete the rows
    of every table referencing it (ON DELETE CASCADE)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with db_engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=sqlite,
        compare_type=True,
        # SQLite's DDL is transactional too (alembic assumes not): an upgrade that fails,
        # the foreign key check below included, leaves the schema as it was.
        transactional_ddl=True,
    )
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            before = context.get_context().get_current_heads()
            context.run_migrations()
            if sqlite and context.get_context().get_current_heads() != before:
                # Only after a migration ran: the check reads every table.
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)
