"""Run Alembic migrations from code (start-up, tests, `parcours db`) without an alembic.ini."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (alembic's syntax: a revision id, `-1`, `base`)."""
    command.downgrade(alembic_config(engine), revision)


@cache
def code_heads() -> frozenset[str]:
    """The revisions the code's tables match (read once: the files do not change)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def database_heads(engine: Engine) -> frozenset[str]:
    """The revisions the database is at (empty before the first upgrade)."""
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())
