"""Data arriving late, inside metric windows already folded, is counted: results equal the
per-profile reference after late events, late stage entries, merges and erasures, on both
backends, and the late values are folded again."""

from __future__ import annotations

import itertools
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from engine.catalog import load_catalog
from engine.catalog.catalog import Catalog
from engine.catalog.metrics import EventMetric, Metric, RetentionMetric, StageMetric
from engine.experiments import outcomes
from engine.experiments.covariates import Covariate
from engine.experiments.late import STAGE_ENTRY, Written, changes, settled
from engine.ingest.schemas import AnyMessage, Page, Track
from engine.pipeline import process_messages
from engine.store.db import write_transaction
from engine.store.tables import Identity, Profile, StageEntry
from tests.experiments.conftest import BASE
from tests.experiments.test_folded_outcomes import at, check, erase, fold
from tests.experiments.test_metric_sql import KEY, METRICS, Seeded, reference, seed

FLOW = f"""\
flow: late
trigger: {{stage: integration}}
experiment:
  key: {KEY}
  variants: {{control: 34, b: 33, c: 33}}
  metric: {{stage: activation, within: 14d}}
  secondary:
    - {{event: unsubscribed, within: 30d}}
    - {{event_count: campaign_sent, within: 36h}}
    - {{retention: 7d}}
  guardrails: []
steps:
  - wait: 1d
"""
ACTIVATION, UNSUBSCRIBED, CAMPAIGNS, RETENTION = (outcomes.metric_key(m) for m in METRICS)
# The CUPED covariate x and cross term x·y of each metric (engine.experiments.covariates).
X = {outcomes.metric_key(m): outcomes.metric_key(Covariate(m)) for m in METRICS}
XY = {outcomes.metric_key(m): outcomes.metric_key(Covariate(m, product=True)) for m in METRICS}
_IDS = itertools.count()
profiles = Profile.__table__  # type: ignore[attr-defined]
identities = Identity.__table__  # type: ignore[attr-defined]
stage_entries = StageEntry.__table__  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def late_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The base content (activation = a `campaign_sent` event) with the seed's experiment."""
    root = tmp_path_factory.mktemp("content")
    shutil.copytree(BASE, root, dirs_exist_ok=True)
    (root / "flows" / "onboarding.yaml").unlink()  # no emails: only the audience matters
    (root / "flows" / "late.yaml").write_text(FLOW, encoding="utf-8")
    loaded, problems = load_catalog(root)
    assert loaded is not None, problems
    metrics = next(f.experiment for f in loaded.flows.values() if f.experiment).metrics
    assert [outcomes.metric_key(m) for m in metrics] == [
        ACTIVATION,
        UNSUBSCRIBED,
        CAMPAIGNS,
        RETENTION,
    ]
    return loaded


def message(name: str, when: datetime, **ids: str) -> AnyMessage:
    """A `page` (named pricing) or a track event `name`, from `userId` / `anonymousId`."""
    common = {"messageId": f"late-{next(_IDS)}", "timestamp": when, **ids}
    if name == "page":
        return Page.model_validate({"type": "page", "name": "pricing", **common})
    return Track.model_validate({"type": "track", "event": name, **common})


def late(data: Seeded, pid: int, name: str, days: float, **ids: str) -> AnyMessage:
    """Profile `pid`'s event `days` after its exposure (from user u{pid} unless `ids` are
    given), recorded in the reference data."""
    when = data.exposed[pid] + timedelta(days=days)
    data.events[pid].append(("page", "pricing", when) if name == "page" else ("track", name, when))
    return message(name, when, **(ids or {"userId": f"u{pid}"}))


def ingest(
    engine: Engine, catalog: Catalog, data: Seeded, days: float, *messages: AnyMessage
) -> None:
    """Messages through the pipeline at day `days`; the activation entries they cause go to
    the reference data."""
    with write_transaction(engine) as conn:
        process_messages(conn, catalog, list(messages), at(days))
        s = stage_entries
        query = select(s.c.profile_id, s.c.entered_at).where(s.c.stage == "activation")
        data.stages = {pid: when for pid, when in conn.execute(query) if pid in data.group}


def queued(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as conn:
        return {m: sorted(p) for m, p in outcomes.refolding(conn, KEY).items()}


def check_and_refold(engine: Engine, data: Seeded, days: float) -> None:
    """Results equal the reference while the late values are queued, and once the next
    fold has stored them."""
    check(engine, data, days)
    fold(engine, days + 1)
    assert queued(engine) == {}
    check(engine, data, days + 1)


def first_scoring(data: Seeded, metric: Metric, value: float, *skipped: int) -> int:
    return next(
        pid
        for pid in sorted(data.group)
        if pid not in skipped and reference(metric, data, pid) == value
    )


@pytest.fixture
def folded(db_engine: Engine) -> Seeded:
    """The seed, every window folded at day 120."""
    data = seed(db_engine)
    fold(db_engine, 120)
    return data


def test_late_events_in_folded_windows_are_counted(
    db_engine: Engine, late_catalog: Catalog, folded: Seeded
) -> None:
    data = folded
    leaver = first_scoring(data, METRICS[1], 0.0)
    back = first_scoring(data, METRICS[3], 0.0, leaver)
    early = next(pid for pid in sorted(data.group) if pid not in (leaver, back))
    ingest(
        db_engine,
        late_catalog,
        data,
        120.1,
        late(data, leaver, "unsubscribed", 12.0),  # unsubscribed within 30 days: 0 -> 1
        late(data, back, "page", 7.5),  # retention on day 7: 0 -> 1
        late(data, leaver, "page", 40.0),  # in no window: changes nothing
        late(data, early, "page", -3.0),  # activity before exposure: the activity covariates
    )
    # A metric's cross term x·y moves with y; the activity covariates with the early page.
    assert queued(db_engine) == {
        UNSUBSCRIBED: [leaver],
        XY[UNSUBSCRIBED]: [leaver],
        RETENTION: [back],
        X[RETENTION]: [early],
        XY[RETENTION]: sorted([back, early]),
        X[ACTIVATION]: [early],
        XY[ACTIVATION]: [early],
    }
    check_and_refold(db_engine, data, 120.1)


def test_late_stage_entries_are_counted(db_engine: Engine, late_catalog: Catalog) -> None:
    """A late `campaign_sent` three days after exposure enters activation (a stage metric)
    at that time; the 36-hour campaign count, closed before it, does not move."""
    data = seed(db_engine)
    fold(db_engine, 52)  # the profiles exposed last are not folded yet
    chosen = [pid for pid in sorted(data.group) if pid not in data.stages][:3]
    ingest(
        db_engine,
        late_catalog,
        data,
        52.1,
        *(late(data, pid, "campaign_sent", 3.0) for pid in chosen),
    )
    assert set(chosen) <= set(data.stages)
    assert set(queued(db_engine)) == {ACTIVATION, XY[ACTIVATION]}
    check_and_refold(db_engine, data, 52.1)


def test_late_data_of_a_merged_profile_is_counted(
    db_engine: Engine, late_catalog: Catalog, folded: Seeded
) -> None:
    """Profile 2 becomes anonymous. A late event naming it and user u1 merges it into
    profile 1 (both exposed and folded); a later late event names the anonymous id alone."""
    data, gone, survivor = folded, 2, 1
    with write_transaction(db_engine) as conn:
        conn.execute(update(profiles).where(profiles.c.id == gone).values(user_id=None))
        conn.execute(
            update(identities)
            .where(identities.c.profile_id == gone)
            .values(kind="anonymous", value="anon-2")
        )
    merging = late(data, survivor, "unsubscribed", 2.0, userId="u1", anonymousId="anon-2")
    data.events[survivor] += data.events.pop(gone)
    for table in (data.group, data.exposed):
        table.pop(gone)
    ingest(db_engine, late_catalog, data, 120.1, merging)
    check_and_refold(db_engine, data, 120.1)
    anonymous = late(data, survivor, "page", 7.2, anonymousId="anon-2")
    ingest(db_engine, late_catalog, data, 121.2, anonymous)
    assert queued(db_engine) == {RETENTION: [survivor], XY[RETENTION]: [survivor]}
    check_and_refold(db_engine, data, 121.2)


def test_erasure_after_late_data(db_engine: Engine, late_catalog: Catalog, folded: Seeded) -> None:
    """An erased profile whose late data was queued is subtracted once, not twice."""
    data = folded
    erased = first_scoring(data, METRICS[1], 0.0)
    kept = first_scoring(data, METRICS[1], 0.0, erased)
    unsubscribes = [late(data, pid, "unsubscribed", 5.0) for pid in (erased, kept)]
    ingest(db_engine, late_catalog, data, 120.1, *unsubscribes)
    erase(db_engine, data, erased)
    check_and_refold(db_engine, data, 120.1)


def test_recent_rows_are_never_checked(
    db_engine: Engine, late_catalog: Catalog, folded: Seeded
) -> None:
    """Rows newer than `settled(now)` cannot fall in a folded window: ingestion does not
    hand them over, whatever their profile."""
    now = at(120)
    recent = message("unsubscribed", settled(now) + timedelta(microseconds=1), userId="u1")
    older = message("unsubscribed", settled(now), userId="u1")
    with write_transaction(db_engine) as conn:
        result = process_messages(conn, late_catalog, [recent, older], now)
    assert [row.at for row in result.ingest.late] == [settled(now)]


EXPOSED = datetime(2026, 1, 5, tzinfo=UTC)
BOUND = EXPOSED + timedelta(days=40)


@pytest.mark.parametrize(
    ("metric", "row", "expected"),
    [
        (
            StageMetric(stage="activation", within=timedelta(days=14)),
            (STAGE_ENTRY, "activation", 14),
            True,
        ),
        (
            StageMetric(stage="activation", within=timedelta(days=14)),
            (STAGE_ENTRY, "activation", 14.01),
            False,
        ),
        (
            StageMetric(stage="activation", within=timedelta(days=14)),
            ("track", "activation", 3),
            False,
        ),
        (
            EventMetric(event="unsubscribed", within=timedelta(days=30)),
            ("internal", "unsubscribed", 0),
            True,
        ),
        (
            EventMetric(event="unsubscribed", within=timedelta(days=30)),
            ("track", "other", 3),
            False,
        ),
        (RetentionMetric(retention=timedelta(days=7)), ("screen", None, 7.5), True),
        (RetentionMetric(retention=timedelta(days=7)), ("screen", None, 6.9), False),
        (RetentionMetric(retention=timedelta(days=7)), ("identify", None, 7.5), False),
        (
            RetentionMetric(retention=timedelta(days=40)),
            ("page", "x", 40.5),
            False,
        ),  # window still open
        (None, ("identify", None, 0), True),  # a definition the catalog no longer has
        (None, ("track", "x", -0.1), False),  # before the exposure
    ],
)
def test_which_rows_change_a_folded_value(
    metric: Metric | None, row: tuple, expected: bool
) -> None:  # type: ignore[type-arg]
    type_, name, days = row
    written = Written(7, EXPOSED + timedelta(days=days), type_, name)
    assert changes(metric, EXPOSED, BOUND, [written]) is expected


def test_crossed_retractions_never_deadlock(db_engine: Engine, folded: Seeded) -> None:
    """Two transactions retracting two metrics in opposite orders both commit, and the
    sums stay right. Locking each metric's fold row only when needed deadlocked here on
    PostgreSQL (one transaction aborted); every fold row is now locked at the first
    retraction, in one order, so the second transaction waits instead."""
    data = folded
    first, second = sorted(data.group)[:2]
    ahead, crossed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def retract_in(
        order: list[str], pid: int, mine: threading.Event, other: threading.Event
    ) -> None:
        try:
            with write_transaction(db_engine) as conn:
                outcomes.refold(conn, {(KEY, order[0]): [pid]})
                mine.set()
                other.wait(timeout=1.5)  # times out while the other waits on our locks
                outcomes.refold(conn, {(KEY, order[1]): [pid]})
        except BaseException as exc:  # a deadlock victim: recorded for the assertion
            errors.append(exc)
            mine.set()

    a = threading.Thread(target=retract_in, args=([ACTIVATION, RETENTION], first, ahead, crossed))
    a.start()
    assert ahead.wait(timeout=30)
    b = threading.Thread(target=retract_in, args=([RETENTION, ACTIVATION], second, crossed, ahead))
    b.start()
    a.join(timeout=60)
    b.join(timeout=60)
    assert errors == []
    assert queued(db_engine) == {ACTIVATION: [first, second], RETENTION: [first, second]}
    check_and_refold(db_engine, data, 120)
