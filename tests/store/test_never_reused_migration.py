"""Migration 0012 rebuilds SQLite tables as AUTOINCREMENT without losing a row: dropping a
table referenced with ON DELETE CASCADE would empty its children if foreign keys were on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.store.db import create_db_engine
from engine.store.migrate import upgrade

T = "'2026-03-02 09:00:00'"
ROWS = [
    "INSERT INTO profiles (id, user_id, traits, first_seen_at, last_seen_at, created_at,"
    f" updated_at) VALUES (1, 'sophie', '{{}}', {T}, {T}, {T}, {T})",
    "INSERT INTO flow_versions (id, flow, version, definition, created_at)"
    f" VALUES (1, 'f', 'v1', '{{}}', {T})",
    "INSERT INTO flow_runs (id, flow, version_id, profile_id, status, state, entered_at,"
    f" updated_at) VALUES (1, 'f', 1, 1, 'waiting', '{{}}', {T}, {T})",
    f"INSERT INTO timers (id, run_id, step, due_at) VALUES (1, 1, 'steps.1', {T})",
    "INSERT INTO deliveries (id, run_id, profile_id, flow, step, channel, content, status,"
    f" attempts, created_at, updated_at) VALUES (1, 1, 1, 'f', 's', 'tip', 't', 'sent', 0, {T},"
    f" {T})",
    "INSERT INTO inapp_items (id, profile_id, delivery_id, kind, name, priority, content,"
    f" status, created_at, updated_at) VALUES (1, 1, 1, 'tip', 't', 0, '{{}}', 'pending', {T},"
    f" {T})",
    "INSERT INTO journey_entries (id, run_id, at, step, kind, outcome, detail)"
    f" VALUES (1, 1, {T}, 's', 'tip', 'delivered', '{{}}')",
]
TABLES = ("flow_runs", "timers", "deliveries", "inapp_items", "journey_entries")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in TABLES
        }


def test_rebuild_keeps_every_row_and_foreign_keys_stay_on(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0011")
    with engine.begin() as conn:
        for row in ROWS:
            conn.exec_driver_sql(row)
    assert counts(engine) == dict.fromkeys(TABLES, 1)

    upgrade(engine)

    assert counts(engine) == dict.fromkeys(TABLES, 1)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    with engine.begin() as conn:  # the cascades still hold on the rebuilt tables
        conn.exec_driver_sql("DELETE FROM profiles")
    assert counts(engine) == dict.fromkeys(TABLES, 0)
    engine.dispose()


def test_an_upgrade_that_would_break_a_foreign_key_changes_nothing(tmp_path: Path) -> None:
    """The check runs inside the upgrade's one transaction (SQLite's DDL is transactional)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'orphan.db'}")
    upgrade(engine, "0011")
    with engine.connect() as conn:  # an orphan, as only a foreign-keys-off writer makes
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute(f"INSERT INTO timers (id, run_id, step, due_at) VALUES (1, 99, 's', {T})")
        raw.execute("PRAGMA foreign_keys=ON")

    with pytest.raises(RuntimeError, match="migration broke foreign keys"):
        upgrade(engine)

    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0011"
        ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'deliveries'")
        assert "AUTOINCREMENT" not in ddl.scalar_one()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()
