"""After erasure no copy of the person is left anywhere the engine writes: the tables, dead
letters, the outbox, and on SQLite the database file, its WAL and shared-memory files
(searched as bytes). On PostgreSQL every table's rows are searched as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, make_url, select, text
from sqlmodel import SQLModel

from engine.catalog.catalog import Catalog, load_catalog
from engine.ingest.repository import dead_letters
from engine.profiles.traces import names_person
from tests.conftest import WRITE_KEY
from tests.flows.content import content_with

FLOW = "flow: f\ntrigger: {event: go}\nsteps: [{email: welcome}]\n"
USER = "sophie-7f3a91"
ANONYMOUS = "anon-b81c55"
EMAIL = "Sophie.7F3A91@studio.example"
COMPANY = "Quillfeather-4477"
OLD_COMPANY = "Brambleworth-9921"  # overwritten before the erasure: freed bytes too
TRACES = [USER, ANONYMOUS, EMAIL, EMAIL.lower(), COMPANY, OLD_COMPANY]
AUTH = (WRITE_KEY, "")


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    loaded, problems = load_catalog(content_with(tmp_path / "content", f=FLOW))
    assert loaded is not None, problems
    return loaded


def post(client: TestClient, path: str, body: object, status: int = 200) -> None:
    assert client.post(path, json=body, auth=AUTH).status_code == status


def live_a_little(client: TestClient) -> None:
    """Sophie visits anonymously, signs up, changes company, gets an email, and sends
    invalid items that end up as dead letters; Bob sends one too."""
    post(client, "/v1/track", {"anonymousId": ANONYMOUS, "event": "pricing_viewed"})
    traits = {"email": EMAIL, "company": OLD_COMPANY, "first_name": "Sophie"}
    post(client, "/v1/identify", {"userId": USER, "anonymousId": ANONYMOUS, "traits": traits})
    post(client, "/v1/identify", {"userId": USER, "traits": {"company": COMPANY}})
    post(client, "/v1/track", {"userId": USER, "event": "go", "properties": {"c": COMPANY}})
    bad = [
        {"type": "track", "userId": USER},  # no event
        {"type": "track", "anonymousId": ANONYMOUS, "event": "e", "timestamp": "soon"},
        {"type": "identify", "traits": {"email": EMAIL.upper()}},  # no id at all
        {"type": "track", "userId": "bob", "event": "x", "timestamp": "yesterday"},
    ]
    post(client, "/v1/batch", {"batch": bad}, status=400)
    raw = client.post("/v1/track", content=f'{{"userId": "{USER}", oops'.encode(), auth=AUTH)
    assert raw.status_code == 400
    dispatcher = client.app.state.parcours.dispatcher  # type: ignore[attr-defined]
    while dispatcher.run_once():
        pass


def sqlite_files(db_url: str, outbox: Path) -> list[Path]:
    database = Path(str(make_url(db_url).database))
    files = [database, *database.parent.glob(database.name + "-*")]
    return files + [p for p in outbox.rglob("*") if p.is_file()]


def found_in_files(files: list[Path]) -> list[tuple[str, str]]:
    found = []
    for path in files:
        data = path.read_bytes()
        found += [(path.name, t) for t in TRACES if t.encode() in data]
    return found


def found_in_tables(engine: Engine) -> list[tuple[str, str]]:
    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(text(f"SELECT t::text FROM {table.name} AS t")).scalars()
            found += [(table.name, t) for row in rows for t in TRACES if t in row]
    return found


def test_erasure_leaves_no_copy_of_the_person(
    client: TestClient,
    db_engine: Engine,
    db_url: str,
    backend: str,
    admin_headers: dict[str, str],
    tmp_path: Path,
) -> None:
    live_a_little(client)
    outbox = tmp_path / "outbox"
    search = (
        (lambda: found_in_files(sqlite_files(db_url, outbox)))
        if backend == "sqlite"
        else (lambda: found_in_tables(db_engine))
    )
    # The search works: it sees the person before (on SQLite even the overwritten company,
    # in the WAL; PostgreSQL's dead row versions are not rows).
    expected = {USER, ANONYMOUS, COMPANY} | ({OLD_COMPANY} if backend == "sqlite" else set())
    assert {t for _, t in search()} >= expected
    assert list(outbox.glob("*.eml"))

    response = client.delete(f"/v1/profiles/{USER}", headers=admin_headers)

    assert response.status_code == 200
    deleted = response.json()["deleted"]
    assert (deleted["dead_letters"], deleted["outbox_files"], deleted["profiles"]) == (4, 1, 1)
    assert search() == []
    assert list(outbox.glob("*.eml")) == []
    with db_engine.connect() as conn:  # Bob's dead letter stays
        assert conn.execute(select(func.count()).select_from(dead_letters)).scalar_one() == 1
    if backend == "postgresql":
        assert found_in_files([p for p in outbox.rglob("*") if p.is_file()]) == []


@pytest.mark.parametrize(
    ("payload", "raw", "named"),
    [
        ({"userId": "u1", "event": 3}, None, True),
        ({"context": {"traits": {"email": "A@B.example"}}}, None, True),
        ({"to": "Sophie <a@b.example>"}, None, True),
        ({"userId": 12}, None, True),
        ({"userId": "u10"}, None, False),
        ({"properties": {"note": "mentions u1 in passing"}}, None, False),
        (None, '{"userId": "u1", broken', True),
        (None, "nothing here", False),
    ],
)
def test_a_dead_letter_names_the_person_by_a_whole_value(
    payload: object, raw: str | None, named: bool
) -> None:
    assert names_person(payload, raw, ["u1", "12", "anon-1"], ["a@b.example"]) is named
