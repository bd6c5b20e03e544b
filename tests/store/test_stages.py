"""The stage kept on events and deliveries equals the stage recomputed from the entries.

Messages go through the real pipeline with the example catalog, including what moves rows
after they are written: an event's own batch entering a stage, a late event entering a
stage before rows already stored, and an anonymous profile merged into a user's. After
each step, every row's `stage` must be the stage its profile had most recently entered at
the row's time (latest entry, then latest id), computed here in Python from the raw rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from engine.catalog.catalog import Catalog
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import write_transaction
from engine.store.stages import backfill

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _at(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _send(engine: Engine, catalog: Catalog, now: datetime, **message: Any) -> None:
    message.setdefault("timestamp", now.isoformat())
    message["messageId"] = f"m-{message['timestamp']}-{message.get('event', message['type'])}"
    with write_transaction(engine) as conn:
        process_messages(conn, catalog, [MESSAGE_ADAPTER.validate_python(message)], now)


def _expected_and_stored(engine: Engine) -> list[tuple[str, int, str | None, str | None]]:
    """(table, row id, stage recomputed from the entries, stage stored) for every row."""
    with engine.connect() as conn:
        entries: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
        for pid, stage, entered, eid in conn.execute(
            text("SELECT profile_id, stage, entered_at, id FROM stage_entries")
        ):
            entries[pid].append((_at(entered), eid, stage))
        out = []
        for table, time in (("events", "timestamp"), ("deliveries", "created_at")):
            sql = f"SELECT id, profile_id, {time}, stage FROM {table}"
            for rid, pid, at, stored in conn.execute(text(sql)):
                before = [e for e in entries[pid] if e[0] <= _at(at)]
                out.append((table, rid, max(before)[2] if before else None, stored))
    return out


def _assert_kept(engine: Engine) -> list[tuple[str, int, str | None, str | None]]:
    found = _expected_and_stored(engine)
    assert [row for row in found if row[2] != row[3]] == []
    return found


def test_stages_follow_late_events_and_merges(db_engine: Engine, example_catalog: Catalog) -> None:
    catalog = example_catalog
    traits = {"email": "ada@example.com", "role": "marketer", "email_experience": "beginner"}
    _send(db_engine, catalog, T0, type="identify", userId="ada", traits=traits)
    _send(db_engine, catalog, T0, type="track", userId="ada", event="signed_up")
    _assert_kept(db_engine)
    # Its own batch enters discovery: the page view is stored in it, not in signup.
    _send(
        db_engine, catalog, T0 + timedelta(hours=1), type="track", userId="ada", event="page_viewed"
    )
    _send(
        db_engine,
        catalog,
        T0 + timedelta(hours=3),
        type="track",
        userId="ada",
        event="report_opened",
    )
    # A late login, stamped at signup time: rows from signup on move to first_login,
    # the welcome email created at signup among them (same time, later entry).
    late = {"timestamp": T0.isoformat()}
    _send(
        db_engine,
        catalog,
        T0 + timedelta(hours=4),
        type="track",
        userId="ada",
        event="logged_in",
        **late,
    )
    found = _assert_kept(db_engine)
    assert ("deliveries", "first_login") in {(t, s) for t, _, _, s in found}
    assert {s for t, _, _, s in found if t == "events"} >= {"discovery", "first_login"}
    # An anonymous visitor's pricing views, then identified as ada: merged into her profile.
    anon = T0 - timedelta(days=2)
    _send(db_engine, catalog, anon, type="track", anonymousId="anon-1", event="pricing_viewed")
    _send(
        db_engine,
        catalog,
        anon + timedelta(hours=1),
        type="track",
        anonymousId="anon-1",
        event="signed_up",
    )
    _send(
        db_engine,
        catalog,
        T0 + timedelta(hours=5),
        type="identify",
        userId="ada",
        anonymousId="anon-1",
    )
    found = _assert_kept(db_engine)
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM profiles")).scalar_one() == 1
    assert len([row for row in found if row[0] == "events"]) >= 10


def test_backfill_places_rows_written_around_the_engine(
    db_engine: Engine, example_catalog: Catalog
) -> None:
    _send(db_engine, example_catalog, T0, type="identify", userId="bo", traits={"email": "b@x.io"})
    _send(db_engine, example_catalog, T0, type="track", userId="bo", event="signed_up")
    with write_transaction(db_engine) as conn:
        conn.execute(text("UPDATE events SET stage = NULL"))
        conn.execute(text("UPDATE deliveries SET stage = 'nowhere'"))
        backfill(conn)
    assert {s for _, _, _, s in _assert_kept(db_engine)} >= {"signup"}
