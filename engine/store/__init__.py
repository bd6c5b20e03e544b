"""Persistence: SQLModel tables, database engines, Alembic migrations."""

import engine.store.runtime_tables
import engine.store.tables  # noqa: F401
