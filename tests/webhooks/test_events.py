"""Subscriptions, bodies and the mapping of internal facts to webhook events (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from engine.webhooks.events import (
    WebhookEvent,
    delivery_events,
    event_body,
    flow_events,
    occurrence_events,
    subscribed,
)
from engine.webhooks.retry import LONGEST_RETRY, backoff, status_outcome


@pytest.mark.parametrize(
    ("patterns", "event", "expected"),
    [
        (["stage.entered"], "stage.entered", True),
        (["stage.*"], "stage.entered", True),
        (["*"], "experiment.exposed", True),
        (["stage.entered"], "segment.entered", False),
        (["segment.*"], "stage.entered", False),
        ([], "stage.entered", False),
    ],
)
def test_subscription_patterns(patterns: list[str], event: str, expected: bool) -> None:
    assert subscribed(patterns, event) is expected


def test_the_body_follows_the_standard_webhooks_shape() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    event = WebhookEvent("stage.entered", "sophie", {"stage": "activation"})

    assert event_body(event, at) == {
        "type": "stage.entered",
        "timestamp": "2026-03-02T09:00:00Z",
        "data": {"user_id": "sophie", "stage": "activation"},
    }


def test_internal_occurrences_become_events_and_tracked_events_do_not() -> None:
    occurrences = [
        (1, "stage_entered", {"stage": "signup"}),
        (1, "campaign_created", {"template": "x"}),
        (2, "segment_exited", {"segment": "power_user"}),
    ]
    events = occurrence_events(occurrences, {1: "sophie", 2: None})

    assert events == [
        WebhookEvent("stage.entered", "sophie", {"stage": "signup"}, 1),
        WebhookEvent("segment.exited", None, {"segment": "power_user"}, 2),
    ]


def test_deliveries_publish_their_final_outcome_only() -> None:
    row = {"id": 7, "flow": "f", "step": "s", "channel": "email", "content": "welcome"}
    row["profile_id"] = 3

    sent = delivery_events(row, {"status": "sent", "attempts": 1}, "sophie")
    failed = delivery_events(row, {"status": "failed", "attempts": 8, "reason": "x"}, None)

    assert [e.type for e in sent] == ["delivery.sent"]
    assert failed[0].data["reason"] == "x"
    assert delivery_events(row, {"status": "retrying"}, "sophie") == []


def test_backoff_doubles_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(4)
    for attempts, ceiling in [(1, 60), (2, 120), (5, 960), (20, LONGEST_RETRY.total_seconds())]:
        waits = [backoff(attempts, rng) for _ in range(200)]
        assert min(waits) >= timedelta(seconds=ceiling / 2)
        assert max(waits) <= timedelta(seconds=ceiling)
        assert len(set(waits)) > 100  # jittered, so retries of many messages spread out


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, "sent"),
        (204, "sent"),
        (307, "failed"),
        (404, "failed"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
)
def test_status_codes_decide_the_outcome(code: int, outcome: str) -> None:
    assert status_outcome(code) == outcome


def test_run_entries_and_ends_become_flow_events() -> None:
    runs = {5: {"flow": "welcome", "profile_id": 1}}
    journey = [
        {"run_id": 5, "kind": "flow", "outcome": "entered", "detail": {"trigger": "stage"}},
        {"run_id": 5, "kind": "email", "outcome": "pending", "detail": {"content": "w"}},
        {"run_id": 5, "kind": "flow", "outcome": "converted", "detail": {"reason": "goal"}},
        {"run_id": 9, "kind": "flow", "outcome": "entered", "detail": {}},  # not in `runs`
    ]

    events = flow_events(journey, runs, {1: "sophie"})

    assert events == [
        WebhookEvent(
            "flow.entered",
            "sophie",
            {"flow": "welcome", "run_id": 5, "variant": None, "trigger": "stage"},
            1,
        ),
        WebhookEvent(
            "flow.ended",
            "sophie",
            {"flow": "welcome", "run_id": 5, "status": "converted", "reason": "goal"},
            1,
        ),
    ]
