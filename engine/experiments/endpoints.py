"""Admin API of experiments: the list, a user's assignment, results and the plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine.api.deps import AdminKey, ConnectionDep, StateDep
from engine.experiments import service
from engine.experiments.plan import experiment_plan
from engine.experiments.schemas import (
    AssignmentPublic,
    ExperimentList,
    ExperimentPlan,
    ExperimentResults,
)

router = APIRouter(prefix="/v1/experiments", tags=["experiments"], dependencies=[AdminKey])


@router.get("", response_model=ExperimentList)
def list_experiments(state: StateDep, conn: ConnectionDep) -> ExperimentList:
    """Every experiment of the live content, its weights and exposed profiles per variant."""
    return service.list_experiments(conn, state.catalog)


@router.get("/{key}/results", response_model=ExperimentResults, response_model_exclude_unset=True)
def get_experiment_results(
    key: str, state: StateDep, conn: ConnectionDep, include_in_progress: bool = False
) -> ExperimentResults:
    """Every metric per variant against control, with lifts, intervals, SRM and personas."""
    return service.experiment_results(
        conn, state.catalog, key, state.clock.now(), include_in_progress=include_in_progress
    )


Lift = Annotated[float, Query(gt=-1.0, le=100.0, allow_inf_nan=False)]
Power = Annotated[float, Query(ge=0.5, lt=1.0, allow_inf_nan=False)]


@router.get("/{key}/plan", response_model=ExperimentPlan)
def get_experiment_plan(
    key: str, state: StateDep, conn: ConnectionDep, lift: Lift = 0.1, power: Power = 0.8
) -> ExperimentPlan:
    """Lift detectable now and by horizon, and days needed for `lift`, from live traffic."""
    return experiment_plan(conn, state.catalog, key, state.clock.now(), lift=lift, power=power)


@router.get("/{key}/assignments/{user_id}", response_model=AssignmentPublic)
def get_assignment(
    key: str, user_id: str, state: StateDep, conn: ConnectionDep
) -> AssignmentPublic:
    """A user's variant and exposure time; 404 `not_assigned` before the first exposure."""
    return service.get_assignment(conn, state.catalog, key, user_id)
