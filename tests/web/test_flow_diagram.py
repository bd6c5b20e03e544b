"""The flow diagram's boxes and wires carry the counts of the rows, on both backends."""

from __future__ import annotations

import json
import re
from collections import Counter

from sqlalchemy import Engine

from engine.catalog.catalog import Catalog
from engine.channels import engagement, links
from engine.clock import FrozenClock
from engine.store.db import write_transaction
from engine.web import flow_service
from engine.web.flow_diagram import flow_diagram
from tests.web.test_aggregates import rows

SECOND_VISIT = ("timed out", "target reached")


def boxes(svg: str) -> dict[str, tuple[int, list[str]]]:
    """step key -> (runs in data-entered, the box's lines of text)."""
    out = {}
    for key, entered, body in re.findall(
        r'<g class="step" data-step="([^"]+)" data-entered="(\d+)">(.*?)</g>', svg
    ):
        out[key] = (int(entered), re.findall(r"<text[^>]*>([^<]*)</text>", body))
    return out


def wires(svg: str) -> list[tuple[str, str, int, list[str]]]:
    """(from, to, runs, label lines) of every labelled wire."""
    found = re.findall(
        r'<g class="edge" data-from="([^"]*)" data-to="([^"]+)" data-runs="(\d+)">(.*?)</g>', svg
    )
    return [
        (a, b, int(n), re.findall(r"<text[^>]*>([^<]*)</text>", body)) for a, b, n, body in found
    ]


def test_boxes_and_wires_count_the_rows(populated: Engine, catalog: Catalog) -> None:
    runs = {
        r["id"]: r
        for r in rows(populated, "SELECT id, flow, status, converted_at, state FROM flow_runs")
    }
    entries = rows(populated, "SELECT run_id, step, kind, outcome FROM journey_entries")
    sent = rows(populated, "SELECT run_id, step, status FROM deliveries")
    forks: list[tuple[str, str, int, list[str]]] = []
    for flow in catalog.flows:  # branches, persona splits, variants, waits, an exit
        mine = {i for i, r in runs.items() if r["flow"] == flow}
        reached: Counter[str] = Counter()
        outcomes: Counter[tuple[str, str]] = Counter()
        for e in entries:
            if e["run_id"] in mine and e["step"] is not None:
                reached[e["step"]] += e["outcome"] not in SECOND_VISIT
                outcomes[(e["step"], e["outcome"])] += 1
        delivered = Counter(
            d["step"] for d in sent if d["run_id"] in mine and d["status"] == "sent"
        )
        waiting: Counter[str] = Counter()
        for i in mine:
            if runs[i]["status"] == "waiting":
                state = runs[i]["state"]
                state = state if isinstance(state, dict) else json.loads(state)
                waiting[state["waiting"]["step"]] += 1
        with populated.connect() as conn:
            page = flow_service.flow_page(conn, catalog, flow, None, 0)
        svg = str(flow_diagram(page))
        shown = boxes(svg)
        kinds = {s.key: s.kind for s in page.steps}
        assert set(shown) == set(kinds)  # every step is drawn
        for key, (entered, lines) in shown.items():
            if kinds[key] != "variant":  # a variant counts its runs at its first child
                assert entered == reached[key], key
                assert f"{entered:,} runs" in lines, key
            if key in delivered:
                assert any(line.startswith(f"{delivered[key]:,} delivered") for line in lines)
            if waiting[key]:
                assert f"{waiting[key]:,} waiting now" in lines, key
        labelled = wires(svg)
        assert labelled
        for source, target, n, label in labelled:
            if source == "":  # a wire into a box: the runs that reached it
                if kinds.get(target) != "variant":
                    assert n == reached[target], target
                assert label == [f"{n:,}"]
            elif kinds[source] in ("branch", "by_segment", "wait_until"):
                assert n == outcomes[(source, target)], (source, target)
                assert label[0] == target
                assert label[1].startswith(f"{n:,} runs")
        forks += [w for w in labelled if w[0]]
    assert any(n > 0 for *_, n, _ in forks)  # forks were crossed, and counted


def test_email_boxes_show_opens_and_clicks(
    populated: Engine, catalog: Catalog, clock: FrozenClock
) -> None:
    """Opens and clicks are the distinct deliveries with email_opened / email_clicked events,
    recorded through the real tracking links (an open twice counts once)."""
    sql = "SELECT id FROM deliveries WHERE step = 'welcome-email' AND status = 'sent' ORDER BY id"
    ids = [r["id"] for r in rows(populated, sql)]
    secret = "link-secret"
    with write_transaction(populated) as conn:
        for delivery in (*ids[:3], ids[0]):
            token = links.sign(secret, links.OPEN, delivery)
            engagement.opened(conn, catalog, secret, token, clock.now())
        token = links.sign(secret, links.CLICK, ids[1], u="https://example.com/start")
        engagement.clicked(conn, catalog, secret, token, clock.now())
    with populated.connect() as conn:
        page = flow_service.flow_page(conn, catalog, "welcome", None, 0)
    email = next(s for s in page.steps if s.key == "welcome-email")
    assert (email.opened, email.clicked) == (3, 1)
    lines = boxes(str(flow_diagram(page)))["welcome-email"][1]
    expected = f"opened {3 / email.delivered * 100:.1f}% · clicked {1 / email.delivered * 100:.1f}%"
    assert expected in lines
