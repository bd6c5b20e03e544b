"""Persistence: SQLModel tables, database engines, Alembic migrations."""

import engine.store.counter_tables
import engine.store.experiment_tables
import engine.store.runtime_tables
import engine.store.security_tables
import engine.store.tables
import engine.store.webhook_tables
import engine.store.worker_tables  # noqa: F401
