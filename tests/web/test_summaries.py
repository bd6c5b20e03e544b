"""Pure helpers behind the pages: medians from histograms, retention, pain points, flow
steps in reading order, the cumulative-lift days, the snapshot cache."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from engine.catalog.catalog import Catalog
from engine.web.cache import SnapshotCache
from engine.web.experiment_service import day_cutoffs
from engine.web.render import duration
from engine.web.summaries import (
    flow_steps,
    median_from_histogram,
    pain_points,
    retained_from,
    transitions,
)


def test_median_from_histogram_matches_the_median_of_the_values() -> None:
    for values in ([3], [1, 2], [5, 1, 1, 9], [0, 0, 7, 7, 7, 30, -2], list(range(100))):
        histogram: dict[int, int] = {}
        for v in values:
            histogram[v] = histogram.get(v, 0) + 1
        assert median_from_histogram(histogram) == statistics.median(values)
    assert median_from_histogram({}) is None


def test_retention_counts_everyone_seen_that_week_or_later() -> None:
    last_seen = {0: 10, 1: 5, 3: 2}
    assert retained_from(last_seen, 1) == 7
    assert retained_from(last_seen, 2) == 2
    assert retained_from(last_seen, 4) == 0


def test_pain_points_are_the_worst_real_drop_offs() -> None:
    steps = transitions(["a", "b", "c", "d"], {"a": 100, "b": 90, "c": 30, "d": 30})
    assert [t.conversion for t in steps] == [0.9, 30 / 90, 1.0]
    assert pain_points(steps, worst=2) == {"c", "b"}
    assert pain_points(steps, worst=1) == {"c"}
    assert pain_points(transitions(["a", "b"], {}), worst=2) == set()


def test_flow_steps_use_the_journey_keys(example_catalog: Catalog) -> None:
    lines = flow_steps(example_catalog.flows["welcome"])
    keys = [line.key for line in lines]
    assert keys[:3] == ["welcome-email", "steps.1", "steps.1.steps.0"]
    assert "steps.2.by_segment.team_admin.0" in keys
    assert "steps.3.on_timeout.0" in keys
    depth = {line.key: line.depth for line in lines}
    assert depth["steps.3"] == 0
    assert depth["steps.3.on_timeout.0"] == 1
    labels = {line.key: line.label for line in lines}
    assert labels["steps.3"] == "wait until campaign_created (timeout 2d)"


def test_day_cutoffs_end_each_day_and_thin_out() -> None:
    first = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert day_cutoffs(first, first - timedelta(days=1), 30) == []
    cuts = day_cutoffs(first, first + timedelta(days=2, hours=1), 30)
    assert cuts == [
        datetime(2026, 3, 3, tzinfo=UTC),
        datetime(2026, 3, 4, tzinfo=UTC),
        first + timedelta(days=2, hours=1),
    ]
    many = day_cutoffs(first, first + timedelta(days=200), 30)
    assert len(many) == 30
    assert many[-1] == first + timedelta(days=200)
    assert many == sorted(many)


def test_durations_read_naturally() -> None:
    assert duration(None) == "\u2013"
    assert duration(600) == "10 min"
    assert duration(5 * 3600) == "5.0 h"
    assert duration(3 * 86400) == "3.0 d"
    assert duration(-35 * 3600) == "\u221235.0 h"
    assert duration(-60 * 3600) == "\u22122.5 d"


def test_snapshots_are_reused_until_stale_or_refreshed() -> None:
    cache = SnapshotCache(ttl=60)
    calls: list[int] = []
    assert cache.get("k", lambda: calls.append(1) or 1) == 1
    assert cache.get("k", lambda: calls.append(2) or 2) == 1
    assert cache.get("k", lambda: calls.append(3) or 3, refresh=True) == 3
    assert calls == [1, 3]
    assert cache.age("k") is not None
    assert SnapshotCache(ttl=0).get("k", lambda: 5) == 5


def test_concurrent_requests_compute_a_snapshot_once() -> None:
    cache = SnapshotCache(ttl=60)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 7

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [7] * 5
    assert calls == [1]
