"""Driver-level executemany for the few statements on the ingestion hot path.

SQLAlchemy Core spends most of a 100-row insert converting each bound value through its
type objects; here values are encoded once, in the form each driver takes directly, and
the statement goes to the DB-API cursor's executemany. Encodings match what the SQLAlchemy
types in `store.base` write, so rows read back identically either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

_AS_IS = frozenset({str, int, float, bool, type(None)})


def marks(n: int) -> str:
    """`n` `{p}` placeholders, for SQL run through `BulkWriter.fetch` or `execute_many`."""
    return ", ".join(["{p}"] * n)


class BulkWriter:
    """Encodes values and runs executemany for one connection's dialect."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.placeholder = "?" if self.sqlite else "%s"
        self._times: dict[datetime, str] = {}  # a batch repeats sentAt and receive time

    def time(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        encoded = self._times.get(value)
        if encoded is None:
            # SQLAlchemy's SQLite DATETIME storage format, in UTC (see store.base.UTCDateTime):
            # the first 26 characters of the ISO form, without the "+00:00" suffix.
            utc = value.astimezone(UTC) if value.utcoffset() else value
            encoded = self._times[value] = utc.isoformat(" ", "microseconds")[:26]
        return encoded

    @staticmethod
    def json(value: Any) -> str:
        return orjson.dumps(value).decode()

    def value(self, value: Any) -> Any:
        """Any value as the driver takes it: datetimes and JSON documents encoded."""
        if type(value) in _AS_IS:  # most values: one set lookup instead of two isinstance
            return value
        if isinstance(value, datetime):
            return self.time(value)
        if isinstance(value, dict | list):
            return self.json(value)
        return value

    def read_time(self, value: Any) -> datetime:
        """A timestamp column as fetched by the driver, as an aware UTC datetime."""
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def read_json(self, value: Any) -> Any:
        """A JSON column as fetched by the driver (text on SQLite, decoded by psycopg)."""
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def least(self, a: str, b: str) -> str:
        return f"min({a}, {b})" if self.sqlite else f"LEAST({a}, {b})"

    def greatest(self, a: str, b: str) -> str:
        return f"max({a}, {b})" if self.sqlite else f"GREATEST({a}, {b})"

    def placeholders(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run a query written with `{p}` placeholders; rows as tuples."""
        result = self.conn.exec_driver_sql(sql.replace("{p}", self.placeholder), tuple(params))
        assert result.cursor is not None
        return list(result.cursor.fetchall())  # plain tuples, no Row objects

    def execute_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run `sql`, written with `{p}` for each placeholder, once per row."""
        if rows:
            self.conn.exec_driver_sql(sql.replace("{p}", self.placeholder), list(rows))

    def insert(
        self,
        table: str,
        rows: Sequence[dict[str, Any]],
        computed: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    ) -> None:
        """Rows of one shape (the first row's keys) into `table`, values encoded.

        `computed` adds columns whose value is SQL (with `{p}` placeholders) over some of the
        row's values: column -> (expression, keys of its parameters in order).
        """
        if not rows:
            return
        names = list(rows[0])
        extra = computed or {}
        keys = names + [key for _, params in extra.values() for key in params]
        values = [tuple(self.value(row[key]) for key in keys) for row in rows]
        columns = ", ".join([*names, *extra])
        terms = ", ".join([marks(len(names)), *(sql for sql, _ in extra.values())])
        self.execute_many(f"INSERT INTO {table} ({columns}) VALUES ({terms})", values)
