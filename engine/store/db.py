"""Database engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _load_json(value: Any) -> Any:
    """SQLite's JSON columns have numeric affinity: a document `5` comes back as the int."""
    return value if isinstance(value, int | float) else orjson.loads(value)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pick the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, *, durable: bool = True) -> Engine:
    """Create an engine; SQLite gets WAL, full fsync on commit and enforced foreign keys.

    `durable=False` (throwaway databases: the demo, simulations) syncs WAL only at
    checkpoints: a power cut may lose the last commits, never corrupt the file.
    """
    url = normalize_url(url)
    options: dict[str, Any] = {"json_serializer": _dump_json, "json_deserializer": _load_json}
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **options)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
    _configure_sqlite(engine, "FULL" if durable else "NORMAL")
    return engine


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    # pysqlite's own transaction handling cannot emit BEGIN IMMEDIATE; take it over
    # (the recipe from SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # WAL lets readers run during writes; synchronous=FULL makes a commit durable
        # across power loss, which is what "stored before 200" promises.
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "foreign_keys=ON",
            "busy_timeout=10000",
            # Deleted rows are zeroed, not just unlinked: an erased person's bytes must
            # not survive in free pages (engine.profiles.erasure).
            "secure_delete=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def checkpoint(engine: Engine) -> None:
    """On SQLite, copy the WAL into the database and truncate it (waiting for readers up to
    the busy timeout), so no deleted content stays in the log; nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> threading.RLock:
    with _LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.RLock()
        return lock


@contextmanager
def write_transaction(engine: Engine, *, durable: bool = True) -> Iterator[Connection]:
    """A transaction that takes the write lock up front on SQLite.

    A deferred SQLite transaction that reads and then writes can fail at once with
    SQLITE_BUSY when another writer committed in between; IMMEDIATE waits instead. Threads
    of one process also queue on a lock first: SQLite's own busy handler waits by sleeping
    (up to 100 ms at a time), which under concurrent requests turned 10 ms writes into
    second-long tails.

    `durable=False` commits without waiting for the disk: the write survives the process
    being killed, not a power cut. It is for small notes whose loss costs a known repeat
    (the dispatcher's "sent" per message), where an fsync each would be most of the cost.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            if not durable:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield conn
        return
    with _write_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with nullcontext() if durable else _not_synced(conn), conn.begin():
            yield conn


@contextmanager
def _not_synced(conn: Connection) -> Iterator[None]:
    """SQLite's `synchronous=NORMAL` for the transaction inside: in WAL mode its commit is
    not fsynced. Set on the driver's connection (outside any transaction), then restored."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    (level,) = raw.execute("PRAGMA synchronous").fetchone()
    raw.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA synchronous={int(level)}")
