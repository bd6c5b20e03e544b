"""Ids that leave the system are never handed out twice: after an erasure the next delivery
gets a new id, so an erased user's old links act on nobody else, and Message-IDs carry the
install's random id, so a reset database never repeats them (both backends)."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from engine.catalog.catalog import Catalog, load_catalog
from engine.channels.links import email_hash
from engine.channels.suppressions import suppressions
from engine.flows.repository import deliveries
from engine.store.db import create_db_engine
from engine.store.installation import install_id
from engine.store.migrate import upgrade
from tests.conftest import WRITE_KEY
from tests.flows.content import content_with

FLOW = "flow: f\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    loaded, problems = load_catalog(content_with(tmp_path / "content", f=FLOW))
    assert loaded is not None, problems
    return loaded


def mail(client: TestClient, user: str, address: str) -> Message:
    """Trigger the flow for `user` and return the email the outbox wrote."""
    batch = [
        {"type": "identify", "userId": user, "traits": {"email": address, "first_name": "A"}},
        {"type": "track", "userId": user, "event": "go"},
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, "")).status_code == 200
    state = client.app.state.parcours  # type: ignore[attr-defined]
    while state.dispatcher.run_once():
        pass
    with state.engine.connect() as conn:
        newest = conn.execute(select(deliveries.c.id).order_by(deliveries.c.id.desc())).scalar()
    return email.message_from_bytes((state.settings.outbox_dir / f"{newest}.eml").read_bytes())


def delivery_id(message: Message) -> int:
    return int(str(message["Message-ID"]).split("-", 1)[1].split(".", 1)[0])


def test_an_erased_users_delivery_id_and_link_never_reach_the_next_user(
    client: TestClient, db_engine: Engine, admin_headers: dict[str, str]
) -> None:
    first = mail(client, "sophie", "sophie@studio.example")
    link = str(first["List-Unsubscribe"]).split(",")[0].strip(" <>")
    assert client.delete("/v1/profiles/sophie", headers=admin_headers).status_code == 200

    second = mail(client, "bob", "bob@studio.example")
    assert delivery_id(second) > delivery_id(first)
    assert second["Message-ID"] != first["Message-ID"]

    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    client.post(urlsplit(link).path, content=b"List-Unsubscribe=One-Click", headers=one_click)
    bob = client.get("/v1/profiles/bob", headers=admin_headers).json()
    assert "unsubscribed" not in bob["event_counts"]["by_name"]
    with db_engine.connect() as conn:
        suppressed = conn.execute(select(suppressions.c.email_hash)).scalars().all()
    assert suppressed == [email_hash("sophie@studio.example")]  # the address the link names


def test_each_database_draws_its_own_install_id(tmp_path: Path) -> None:
    ids = set()
    for name in ("a.db", "b.db"):
        engine = create_db_engine(f"sqlite:///{tmp_path / name}")
        upgrade(engine)
        ids.add(install_id(engine))
        assert install_id(engine) in ids  # stable once drawn
        engine.dispose()
    assert len(ids) == 2
    assert all(len(i) == 16 for i in ids)


def test_sqlite_tables_of_outgoing_ids_are_autoincrement(sqlite_template: Path) -> None:
    """The migrated file matches the models: every table marked NEVER_REUSED is
    AUTOINCREMENT, and those are the tables whose ids leave the system."""
    marked = {
        t.name
        for t in SQLModel.metadata.sorted_tables
        if t.dialect_options["sqlite"]["autoincrement"]
    }
    assert {"deliveries", "inapp_items", "flow_runs", "webhook_messages"} <= marked
    engine = create_db_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as conn:
        ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master").fetchall())
    engine.dispose()
    assert {t for t in marked if "AUTOINCREMENT" in ddl[t]} == marked
