"""Admin API of experiments: the list, a user's assignment, and results."""

from __future__ import annotations

from fastapi import APIRouter

from engine.api.deps import AdminKey, ConnectionDep, StateDep
from engine.experiments import service
from engine.experiments.schemas import AssignmentPublic, ExperimentList, ExperimentResults

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


@router.get("/{key}/assignments/{user_id}", response_model=AssignmentPublic)
def get_assignment(
    key: str, user_id: str, state: StateDep, conn: ConnectionDep
) -> AssignmentPublic:
    """A user's variant and exposure time; 404 `not_assigned` before the first exposure."""
    return service.get_assignment(conn, state.catalog, key, user_id)
