"""Alembic environment: uses the engine handed over by engine.store.migrate, or the URL
from PARCOURS_DATABASE_URL when run as `alembic` from the repository root."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import engine.store.tables  # noqa: F401  (registers the tables on the metadata)
from engine.config import Settings
from engine.store.db import create_db_engine

config = context.config
db_engine = config.attributes.get("engine") or create_db_engine(Settings().database_url)

with db_engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
