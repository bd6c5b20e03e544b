"""CSV downloads: a table's cells as the page shows them, and no cell a spreadsheet would
run as a formula. (That every table's CSV equals the table in Chromium is in
test_browser.py.)"""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.clock import FrozenClock
from engine.ingest.schemas import MESSAGE_ADAPTER
from engine.pipeline import process_messages
from engine.store.db import write_transaction
from engine.web.export import table_csv

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])  # rendering, not SQL

HOSTILE = {"a": '=HYPERLINK("http://x")', "b": "+1", "c": "-2", "d": "@SUM(A1)", "e": "ok=1"}


@SQLITE
def test_formula_cells_are_prefixed_and_others_kept(
    db_engine: Engine, catalog: Catalog, clock: FrozenClock, logged_in: TestClient
) -> None:
    message = {
        "type": "identify",
        "userId": "mallory",
        "traits": HOSTILE,
        "timestamp": clock.now().isoformat(),
        "messageId": "csv-1",
    }
    with write_transaction(db_engine) as conn:
        process_messages(conn, catalog, [MESSAGE_ADAPTER.validate_python(message)], clock.now())
    response = logged_in.get("/dashboard/profiles/mallory?format=csv&table=traits")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="mallory-traits.csv"' in response.headers["content-disposition"]
    cells = dict(csv.reader(io.StringIO(response.text)))
    assert {k: cells[k] for k in HOSTILE} == {
        "a": '\'=HYPERLINK("http://x")',
        "b": "'+1",
        "c": "'-2",
        "d": "'@SUM(A1)",
        "e": "ok=1",
    }


@SQLITE
def test_an_unknown_table_is_a_404_naming_the_parameter(logged_in: TestClient) -> None:
    response = logged_in.get("/dashboard/funnel?format=csv&table=nope")
    assert response.status_code == 404
    assert "table: no table" in response.text


def test_spans_and_lines_of_a_cell() -> None:
    page = """<table data-csv="t"><thead>
      <tr><th rowspan="2">Week</th><th colspan="2">Reached</th></tr>
      <tr><th>a</th><th>b</th></tr></thead>
      <tbody><tr><td>1 <span>x</span></td><td><div>p: 1</div><div>q:  2</div></td><td></td></tr>
      </tbody></table><table data-csv="other"><tr><td>no</td></tr></table>"""
    rows = list(csv.reader(io.StringIO(table_csv(page, "t"))))
    assert rows == [["Week", "Reached", ""], ["", "a", "b"], ["1 x", "p: 1; q: 2", ""]]
