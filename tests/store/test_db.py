"""Write transactions that do not wait for the disk leave every other one durable."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from engine.store.db import write_transaction


def synced(conn: Connection) -> str:
    """Whether this connection's commits wait for the disk."""
    if conn.dialect.name == "sqlite":
        return {1: "off", 2: "on"}[conn.exec_driver_sql("PRAGMA synchronous").scalar_one()]
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())


def test_a_transaction_not_waiting_for_the_disk_commits_and_restores_durability(
    db_engine: Engine,
) -> None:
    with write_transaction(db_engine) as conn:
        configured = synced(conn)  # the test server of PostgreSQL itself runs without sync
    with write_transaction(db_engine, durable=False) as conn:
        assert synced(conn) == "off"
        conn.execute(text("CREATE TABLE notes (n INTEGER)"))
        conn.execute(text("INSERT INTO notes VALUES (1)"))
    with write_transaction(db_engine) as conn:
        assert synced(conn) == configured
        assert conn.execute(text("SELECT n FROM notes")).scalar_one() == 1
