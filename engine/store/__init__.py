"""Persistence: SQLModel tables, database engines, Alembic migrations."""
