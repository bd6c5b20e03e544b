"""Admin API over the live content catalog: inspect it, reload it atomically."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from engine.api.deps import AdminKey, StateDep
from engine.api.state import AppState
from engine.catalog.catalog import Catalog, load_live_catalog
from engine.catalog.definitions import Goal
from engine.catalog.problems import Problem
from engine.errors import EngineError
from engine.flows.service import CONVERSION

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], dependencies=[AdminKey])


class ProblemPublic(BaseModel):
    path: str
    line: int
    column: int
    message: str


class CatalogPublic(BaseModel):
    status: str
    loaded_at: datetime
    content_dir: str
    stages: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    templates: list[str]
    tutorials: list[str]
    tips: list[str]
    rejected_reload: list[ProblemPublic]


class InvalidContent(EngineError):
    status_code = 422
    code = "invalid_content"


def _problem(problem: Problem) -> ProblemPublic:
    return ProblemPublic(
        path=str(problem.path),
        line=problem.line,
        column=problem.column,
        message=problem.message,
    )


def _goal(goal: Goal | None) -> dict[str, Any] | None:
    """The goal, its window in seconds, and what the flow's conversions count."""
    if goal is None:
        return None
    condition = goal.condition.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    return {
        "condition": condition,
        "within_seconds": int(goal.within.total_seconds()),
        "conversion": CONVERSION,
    }


def _describe(state: AppState) -> CatalogPublic:
    catalog: Catalog = state.catalog
    return CatalogPublic(
        status="valid",
        loaded_at=state.catalog_loaded_at,
        content_dir=str(state.settings.content_dir),
        stages=[
            {"stage": s.stage, "description": s.description, "ordered": s.ordered}
            for s in catalog.stages
        ],
        segments=[
            {"segment": s.segment, "description": s.description, "priority": s.priority}
            for s in catalog.segments.values()
        ],
        flows=[
            {
                "flow": f.flow,
                "description": f.description,
                "status": "valid",
                "trigger": f.trigger.model_dump(mode="json", exclude_defaults=True),
                "audience": list(f.audience),
                "experiment": f.experiment.key if f.experiment else None,
                "goal": _goal(f.goal),
                "steps": len(f.steps),
            }
            for f in catalog.flows.values()
        ],
        templates=sorted(catalog.templates),
        tutorials=sorted(catalog.tutorials),
        tips=sorted(catalog.tips),
        rejected_reload=[_problem(p) for p in state.rejected_reload],
    )


@router.get("", response_model=CatalogPublic)
def get_catalog(state: StateDep) -> CatalogPublic:
    """The live catalog: stages, segments and flows, and any refused reload's problems."""
    return _describe(state)


@router.post("/reload", response_model=CatalogPublic)
async def reload_catalog(state: StateDep) -> CatalogPublic:
    """Load the content directory again and swap it in only if it is entirely valid."""
    catalog, problems = await run_in_threadpool(
        load_live_catalog, state.settings.content_dir, state.settings.default_timezone
    )
    if catalog is None:
        state.rejected_reload = problems
        raise InvalidContent(
            f"{len(problems)} problem(s) in the content; the previous catalog stays live",
            errors=[_problem(p).model_dump() for p in problems],
        )
    state.catalog, state.catalog_loaded_at, state.rejected_reload = catalog, state.clock.now(), []
    return _describe(state)
