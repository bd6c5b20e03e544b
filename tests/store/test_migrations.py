"""Migrations create exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from engine.store.migrate import upgrade


def test_migrated_schema_matches_models(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_is_idempotent(db_engine: Engine) -> None:
    upgrade(db_engine)
    tables = set(inspect(db_engine).get_table_names())
    assert {"profiles", "identities", "events", "dead_letters", "alembic_version"} <= tables


def test_downgrade_and_upgrade_again(db_engine: Engine) -> None:
    from alembic import command

    from engine.store.migrate import alembic_config

    command.downgrade(alembic_config(db_engine), "0001")
    assert "stage_entries" not in inspect(db_engine).get_table_names()
    upgrade(db_engine)
    assert "stage_entries" in inspect(db_engine).get_table_names()
