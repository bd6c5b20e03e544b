"""An experiment exposure at flow entry is published once to subscribed endpoints."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.store.webhook_tables import WebhookMessageRow
from engine.testing import Simulation
from tests.flows.content import content_with

FLOW = """flow: f
trigger: {event: go}
experiment:
  key: tour-first
  variants: {control: 50, tour: 50}
steps: [{tip: shortcuts}]
"""
ENDPOINT = """endpoint: crm
url: https://crm.example.com/hooks/parcours
events: [experiment.exposed]
"""

messages = WebhookMessageRow.__table__  # type: ignore[attr-defined]


def test_exposure_is_published_once(tmp_path: Path) -> None:
    content = content_with(tmp_path / "c", f=FLOW)
    (content / "flows" / "endpoints.yaml").write_text(ENDPOINT)
    with Simulation(content) as sim:
        sim.identify("u", email_experience="beginner")
        sim.track("u", "go")
        sim.track("u", "go")
        with sim.engine.connect() as conn:
            rows = conn.execute(select(messages.c.event_type, messages.c.payload)).all()
    assert [event for event, _ in rows] == ["experiment.exposed"]
    data = rows[0][1]["data"]
    assert data["experiment"] == "tour-first"
    assert data["variant"] in {"control", "tour"}
