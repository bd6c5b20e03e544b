"""Flow runs: start them on triggers, wake them on targets and timers, end them on goals.

Everything happens in the caller's transaction (the ingestion batch or a timer tick), so a
run's decisions and its new state are committed together: deliveries are written as rows
(the outbox) and sent after commit, and in-app items are stored at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from engine.audience import repository as audience_repo
from engine.audience.evaluate import ProfileFacts, evaluate, matches_filters, with_model_outputs
from engine.catalog.catalog import Catalog
from engine.catalog.definitions import (
    EventTrigger,
    Flow,
    ScheduleTrigger,
    SegmentTrigger,
    StageTrigger,
)
from engine.catalog.dependencies import Dependencies, cached_dependencies
from engine.catalog.flowcheck import walk_steps
from engine.catalog.internal_events import STAGE_ENTERED
from engine.catalog.steps import BranchStep, WaitUntilStep
from engine.experiments.service import assign, assign_global_holdout
from engine.flows import repository as repo
from engine.flows.delivery import journey_row, record_decisions
from engine.flows.interpreter import (
    RunState,
    StepFacts,
    Wake,
    advance,
    resolve,
    state_from_json,
    state_to_json,
)
from engine.flows.versions import current_version, flow_of_version
from engine.flows.writes import RunWrites
from engine.guardrails.service import NO_GUARDRAILS, Guardrails
from engine.ml.scoring import model_dependencies, model_uses
from engine.webhooks.events import WebhookEvent, flow_events
from engine.webhooks.service import publish

log = logging.getLogger(__name__)
CONVERSION = (
    "a run converts when its goal holds within the goal window after its entry,"
    " while its steps run (the goal ends it) or after they ended"
)
"""What a flow's conversions count: the dashboard and the catalog API show it."""


@dataclass(frozen=True)
class Occurrence:
    """Something a flow can react to: an event, or an entered stage or segment."""

    profile_id: int
    name: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RuntimeResult:
    started: int = 0
    resumed: int = 0
    ended: int = 0


def handle_occurrences(
    conn: Connection,
    catalog: Catalog,
    occurrences: Iterable[Occurrence],
    now: datetime,
    touched: Mapping[int, Dependencies | None] | None = None,
    guardrails: Guardrails = NO_GUARDRAILS,
) -> RuntimeResult:
    """End, wake and start the runs these occurrences concern.

    `touched` are profiles that changed, with what changed (None: anything), occurrence or
    not (an identify): their open runs' goals and exit conditions are checked too, and
    their date waits follow the trait (a wait whose date moved is woken to re-park, or to
    end if the date has come).
    """
    touched = touched or {}
    items = list(occurrences)
    if not catalog.flows:
        return RuntimeResult()
    # Only profiles with a run open or a flow triggered have anything to do: facts are
    # loaded for those alone (most events of a batch concern neither).
    open_runs = repo.open_runs(conn, {o.profile_id for o in items} | set(touched))
    changed = _changes(items, touched)
    open_runs += repo.goal_window_runs(conn, _goal_candidates(catalog, changed), now)
    triggering = {o.profile_id for o in items if triggered_flows(catalog, o)}
    profiles = triggering | {r["profile_id"] for r in open_runs}
    if not profiles:
        return RuntimeResult()
    context = RunContext(conn, catalog, now, profiles, open_runs, guardrails)
    for run in list(context.open_runs):
        context.check_end(run)
    for run in context.awaiting_goal:
        context.check_goal(run, changed.get(run["profile_id"], Dependencies()))
    for run in context.open_runs:
        if run["profile_id"] in touched and str(run["wait_target"]).startswith("date:"):
            context.retime(run)
    for occurrence in items:
        for run in context.waiting_for(occurrence):
            context.wake(run, "target")
    for occurrence in items:
        for flow in triggered_flows(catalog, occurrence):
            context.start(flow, occurrence.profile_id)
    context.flush()
    return context.result


def _changes(
    occurrences: Iterable[Occurrence], touched: Mapping[int, Dependencies | None]
) -> dict[int, Dependencies | None]:
    """What changed per profile: the batch's changes and its occurrences (a stage entered
    or a segment joined changes that stage or segment)."""
    changed = dict(touched)
    for o in occurrences:
        stage, segment = o.properties.get("stage"), o.properties.get("segment")
        found = Dependencies(
            event_names=frozenset({o.name}),
            stages=frozenset({str(stage)} if o.name == STAGE_ENTERED else ()),
            segments=frozenset({str(segment)} if o.name.startswith("segment_") else ()),
        )
        before = changed.get(o.profile_id, Dependencies())
        changed[o.profile_id] = None if before is None else before | found
    return changed


@lru_cache(maxsize=8)
def _goal_reads(catalog: Catalog) -> Dependencies:
    """What the flows' goals read: an ended run is looked up only after such a change."""
    found = Dependencies()
    for flow in catalog.flows.values():
        if flow.goal is not None:
            found |= cached_dependencies(flow.goal.condition)
    return found


def _goal_candidates(catalog: Catalog, changed: Mapping[int, Dependencies | None]) -> set[int]:
    """Profiles whose change may reach a goal (time-relative and model goals: any)."""
    reads = _goal_reads(catalog)
    always = reads.time_relative or bool(reads.models)
    return {
        pid for pid, change in changed.items() if change is None or always or reads.overlaps(change)
    }


def triggered_flows(catalog: Catalog, occurrence: Occurrence) -> list[Flow]:
    flows = []
    for flow in catalog.flows.values():
        match flow.trigger:
            case EventTrigger(event=event, where=where):
                hit = occurrence.name == event and matches_filters(where, occurrence.properties)
            case StageTrigger(stage=stage):
                hit = (
                    occurrence.name == "stage_entered"
                    and occurrence.properties.get("stage") == stage
                )
            case SegmentTrigger(segment=segment):
                hit = (
                    occurrence.name == "segment_entered"
                    and occurrence.properties.get("segment") == segment
                )
            case ScheduleTrigger():
                hit = False
        if hit:
            flows.append(flow)
    return flows


@lru_cache(maxsize=8)
def _flow_event_names(catalog: Catalog) -> frozenset[str]:
    """Event names any flow condition (goals, exits, branches, step conditions) reads,
    including what the catalog's models (personas, activation risk) read to score."""
    names: set[str] = set(model_dependencies(model_uses(catalog, "all")).event_names)
    for flow in catalog.flows.values():
        for condition in _conditions(flow):
            names |= cached_dependencies(condition).event_names
    return frozenset(names)


def _conditions(flow: Flow) -> Iterable[Any]:
    if flow.goal is not None:
        yield flow.goal.condition
    if flow.exit_when is not None:
        yield flow.exit_when
    for _, step in walk_steps(flow.steps, ("steps",)):
        if step.when is not None:
            yield step.when
        if isinstance(step, BranchStep):
            yield step.branch


class RunContext:
    """The runs and facts of a set of profiles, for one transaction.

    Decisions are gathered in `writes`; call `flush` once at the end of the batch.
    """

    def __init__(
        self,
        conn: Connection,
        catalog: Catalog,
        now: datetime,
        profile_ids: set[int],
        runs: Iterable[Any] | None = None,
        guardrails: Guardrails = NO_GUARDRAILS,
    ) -> None:
        """`runs`: the runs to work on (the timer tick's claimed runs); by default every open
        run of the profiles (what triggers, wakes and goal checks need)."""
        self.conn = conn
        self.guardrails = guardrails
        self.catalog = catalog
        self.now = now
        self.result = RuntimeResult()
        self.writes = RunWrites()
        self.exposures: list[WebhookEvent] = []  # experiment.exposed, published on flush
        self.profiles = audience_repo.load_profiles(conn, profile_ids)
        self._facts_loaded = False
        self._facts: dict[int, ProfileFacts] = {}
        found = repo.open_runs(conn, profile_ids) if runs is None else runs
        self.runs: dict[int, dict[str, Any]] = {}
        self._runs_of: dict[int, list[dict[str, Any]]] = {}  # by profile, for per-event lookups
        for found_run in found:
            self._add_run(dict(found_run))
        self._profile_ids = profile_ids
        self._last_entries: dict[tuple[int, str], datetime] | None = None
        self._flows: dict[int, Flow] = {}

    def _add_run(self, run: dict[str, Any]) -> None:
        self.runs[run["id"]] = run
        self._runs_of.setdefault(run["profile_id"], []).append(run)

    @property
    def open_runs(self) -> list[dict[str, Any]]:
        return [r for r in self.runs.values() if r["status"] in repo.OPEN]

    def _open_runs_of(self, profile_id: int) -> list[dict[str, Any]]:
        return [r for r in self._runs_of.get(profile_id, ()) if r["status"] in repo.OPEN]

    @property
    def awaiting_goal(self) -> list[dict[str, Any]]:
        """Ended runs whose goal window is still open (see `check_goal`)."""
        return [
            r
            for r in self.runs.values()
            if r["status"] not in repo.OPEN
            and r.get("goal_until") is not None
            and self.now <= r["goal_until"]
        ]

    def flush(self) -> None:
        self.guardrails.cap_delivered(self.conn, self.writes.deliveries, self.catalog, self.now)
        users = {pid: stored.user_id for pid, stored in self.profiles.items()}
        events = flow_events(self.writes.journey, self.runs, users) + self.exposures
        self.writes.flush(self.conn, self.runs)
        publish(self.conn, self.catalog, events, self.now)
        self.exposures = []

    # -- facts ------------------------------------------------------------------------------

    def profile_facts(self, profile_id: int) -> ProfileFacts:
        """What conditions read about a profile, built once per batch."""
        if profile_id not in self._facts:
            stored = self.stored(profile_id)
            profile = ProfileFacts(
                traits=stored.traits,
                events=stored.events,
                stage_entries=stored.stage_entries,
                segments=frozenset(stored.active_segments),
                signup_at=stored.stage_entries.get("signup", stored.first_seen_at),
                default_timezone=self.catalog.default_timezone,
            )
            self._facts[profile_id] = with_model_outputs(self.catalog, profile, self.now)
        return self._facts[profile_id]

    def stored(self, profile_id: int) -> audience_repo.StoredAudience:
        """A profile with its stage entries, segments and events, loaded for the whole batch
        on first need: a timer tick whose steps read no condition never loads them."""
        if not self._facts_loaded:
            audience_repo.load_facts(self.conn, self.profiles, _flow_event_names(self.catalog))
            self._facts_loaded = True
        return self.profiles[profile_id]

    def flow_of(self, run: Mapping[str, Any]) -> Flow:
        version_id = run["version_id"]
        if version_id not in self._flows:
            version, document = repo.version_definitions(self.conn, [version_id])[version_id]
            self._flows[version_id] = flow_of_version(version, document)
        return self._flows[version_id]

    # -- starting ---------------------------------------------------------------------------

    def start(self, flow: Flow, profile_id: int) -> None:
        if profile_id not in self.profiles or not self._may_enter(flow, profile_id):
            return
        stored = self.stored(profile_id)
        if flow.audience and not set(flow.audience) & stored.active_segments:
            self._skip(flow, profile_id, "not in audience")
            return
        holdout = self.catalog.holdout
        if (
            holdout is not None
            and assign_global_holdout(
                self.conn, holdout, profile_id=profile_id, user_id=stored.user_id, now=self.now
            ).holdout
        ):
            self._skip(flow, profile_id, f"global holdout '{holdout.holdout}'")
            return
        variant, held_out = None, False
        if flow.experiment is not None:
            assigned = assign(
                self.conn,
                flow.experiment,
                profile_id=profile_id,
                user_id=stored.user_id,
                now=self.now,
                holdout=holdout,
            )
            variant, held_out = assigned.variant, assigned.holdout
            if assigned.is_new:
                data = {"experiment": flow.experiment.key, "variant": variant, "flow": flow.flow}
                event = WebhookEvent("experiment.exposed", stored.user_id, data, profile_id)
                self.exposures.append(event)
        run = self._new_run(flow, profile_id, variant)
        self._journey(
            run, None, "flow", "entered", {"trigger": flow.trigger.kind, "variant": variant}
        )
        if held_out:
            self._finish(run, "exited", f"experiment holdout: variant '{variant}' gets no steps")
        elif not self.check_end(run):
            self._advance(run, "start")

    def _new_run(self, flow: Flow, profile_id: int, variant: str | None) -> dict[str, Any]:
        version, document = current_version(self.catalog, flow.flow)
        version_id = repo.version_id(self.conn, flow.flow, version, document, self.now)
        self._flows[version_id] = flow
        run: dict[str, Any] = {
            "flow": flow.flow,
            "version_id": version_id,
            "profile_id": profile_id,
            "status": "active",
            "variant": variant,
            "state": state_to_json(RunState.start(variant)),
            "wait_target": None,
            "entered_at": self.now,
            "updated_at": self.now,
        }
        run["id"] = repo.insert_run(self.conn, run)
        self._entered()[(profile_id, flow.flow)] = self.now
        self._add_run(run)
        self.result.started += 1
        return run

    def _entered(self) -> dict[tuple[int, str], datetime]:
        """When each profile last entered each flow; read on the first start only (a timer
        tick never starts a run)."""
        if self._last_entries is None:
            flows = list(self.catalog.flows)
            self._last_entries = repo.last_entries(self.conn, self._profile_ids, flows)
        return self._last_entries

    def _may_enter(self, flow: Flow, profile_id: int) -> bool:
        if any(r["flow"] == flow.flow for r in self._open_runs_of(profile_id)):
            return False
        last = self._entered().get((profile_id, flow.flow))
        if last is None:
            return True
        return flow.reentry != "once" and self.now - last >= flow.reentry

    def _skip(self, flow: Flow, profile_id: int, reason: str) -> None:
        """Record once that a triggered profile did not enter, so the journey explains it."""
        if repo.skipped_before(self.conn, profile_id, flow.flow, reason):
            return
        version, document = current_version(self.catalog, flow.flow)
        run = {
            "flow": flow.flow,
            "version_id": repo.version_id(self.conn, flow.flow, version, document, self.now),
            "profile_id": profile_id,
            "status": "skipped",
            "state": {},
            "entered_at": self.now,
            "updated_at": self.now,
            "ended_at": self.now,
            "end_reason": reason,
        }
        repo.insert_run(self.conn, run)

    # -- waking and ending ------------------------------------------------------------------

    def waiting_for(self, occurrence: Occurrence) -> list[dict[str, Any]]:
        """Waiting runs of the occurrence's profile whose `wait_until` target it is."""
        return [
            run
            for run in self._open_runs_of(occurrence.profile_id)
            if run["status"] == "waiting" and self._is_target(run, occurrence)
        ]

    def _is_target(self, run: dict[str, Any], occurrence: Occurrence) -> bool:
        target = run["wait_target"]
        if target in _targets(occurrence):
            return self._filters_pass(run, occurrence)
        engaged = occurrence.properties.get("step")
        return bool(
            target == f"engaged:{engaged}" and occurrence.properties.get("run_id") == run["id"]
        )

    def _filters_pass(self, run: dict[str, Any], occurrence: Occurrence) -> bool:
        state = state_from_json(run["state"])
        frame = state.frames[-1]
        step = resolve(self.flow_of(run), frame.path)[frame.index]
        if not isinstance(step, WaitUntilStep):
            return False
        return matches_filters(step.wait_until.where, occurrence.properties)

    def wake(self, run: dict[str, Any], wake: Wake) -> None:
        if run["status"] != "waiting":
            return
        self.writes.drop_timers(run["id"])
        self.result.resumed += 1
        if not self.check_end(run):
            self._advance(run, wake)

    def wake_isolated(self, run: dict[str, Any], wake: Wake) -> None:
        """`wake`, but a failure ends only this run (recorded) instead of the whole batch."""
        batch, before = self.writes, dict(run)
        self.writes = RunWrites()
        try:
            self.wake(run, wake)
            batch.merge(self.writes)
        except Exception as exc:  # a bug in one run must not stall every other run
            log.exception("run %s failed", run["id"])
            self.writes = batch
            run.clear()
            run.update(before)
            self._finish(run, "failed", f"{type(exc).__name__}: {exc}"[:500])
        finally:
            self.writes = batch

    def retime(self, run: dict[str, Any]) -> None:
        """Follow an identify in a date wait: woken if its date moved (to re-park, or to end
        if the date has come); left alone, nothing written, if its time stands."""
        state = state_from_json(run["state"])
        outcome = advance(self.flow_of(run), state, self._step_facts(run), "target")
        if outcome.decisions or outcome.ended or outcome.waiting != state.waiting:
            self.wake(run, "target")

    def check_end(self, run: dict[str, Any]) -> bool:
        """End the run if its goal was reached (converted) or its exit condition holds."""
        flow, profile_id = self.flow_of(run), run["profile_id"]
        if self._goal_reached(run):
            self._finish(run, "converted", "goal reached")
            return True
        if flow.exit_when is not None and evaluate(
            flow.exit_when, self.profile_facts(profile_id), self.now
        ):
            self._finish(run, "exited", "exit condition holds")
            return True
        return False

    def check_goal(self, run: dict[str, Any], changed: Dependencies | None) -> None:
        """Convert an ended run whose goal is reached inside its window: the flow's
        conversion counts the goal, not only the runs it ended (the last step is often an
        email sent days before the user activates).

        Only when `changed` (None: anything) can alter the goal, so a profile whose run
        ended is not evaluated on every later event of its goal window.
        """
        goal = self.flow_of(run).goal
        if goal is None:
            return
        reads = cached_dependencies(goal.condition)
        if changed is not None and not (
            reads.time_relative or reads.models or reads.overlaps(changed)
        ):
            return
        if not self._goal_reached(run):
            return
        run["converted_at"], run["goal_until"] = self.now, None
        values = {"converted_at": self.now, "goal_until": None, "updated_at": self.now}
        self.writes.update_run(run["id"], values)
        self._journey(run, None, "flow", "goal reached", {"reason": "after the run ended"})

    def _goal_reached(self, run: Mapping[str, Any]) -> bool:
        goal = self.flow_of(run).goal
        return (
            goal is not None
            and self.now <= run["entered_at"] + goal.within
            and evaluate(goal.condition, self.profile_facts(run["profile_id"]), self.now)
        )

    def _advance(self, run: dict[str, Any], wake: Wake) -> None:
        state = state_from_json(run["state"])
        outcome = advance(self.flow_of(run), state, self._step_facts(run), wake)
        locale = self.profiles[run["profile_id"]].traits.get("locale")
        record_decisions(self.writes, self.catalog, self.now, run, outcome.decisions, locale)
        run["state"] = state_to_json(outcome.state)
        if outcome.ended is not None:
            self._finish(run, *outcome.ended)
            return
        waiting = outcome.waiting
        assert waiting is not None  # advance returns only when waiting or ended
        run["status"], run["wait_target"] = "waiting", waiting.target
        self.writes.update_run(
            run["id"],
            {
                "status": "waiting",
                "state": run["state"],
                "wait_target": waiting.target,
                "updated_at": self.now,
            },
        )
        self.writes.set_timer(run["id"], waiting.step, waiting.until)

    def _step_facts(self, run: Mapping[str, Any]) -> StepFacts:
        profile_id = run["profile_id"]
        persona = self.profiles[profile_id].persona
        return StepFacts(lambda: self.profile_facts(profile_id), persona, self.now)

    def _finish(self, run: dict[str, Any], status: str, reason: str) -> None:
        """End the run; a run the goal did not end keeps its goal window open (`goal_until`)
        when there is one left, so a later goal still converts it."""
        run["status"] = status
        values = {
            "status": status,
            "state": run["state"],
            "wait_target": None,
            "updated_at": self.now,
            "ended_at": self.now,
            "end_reason": reason,
        }
        goal = self.flow_of(run).goal
        if status == "converted":
            values["converted_at"] = run["converted_at"] = self.now
        elif goal is not None and self.now < run["entered_at"] + goal.within:
            values["goal_until"] = run["goal_until"] = run["entered_at"] + goal.within
        self.writes.update_run(run["id"], values)
        self.writes.drop_timers(run["id"])
        self.result.ended += 1
        self._journey(run, None, "flow", status, {"reason": reason})

    def _journey(
        self, run: Mapping[str, Any], step: str | None, kind: str, outcome: str, detail: Any
    ) -> None:
        self.writes.journey.append(journey_row(run, self.now, step, kind, outcome, detail))


def _targets(occurrence: Occurrence) -> set[str]:
    targets = {f"event:{occurrence.name}"}
    if occurrence.name == "stage_entered":
        targets.add(f"stage:{occurrence.properties.get('stage')}")
    return targets
