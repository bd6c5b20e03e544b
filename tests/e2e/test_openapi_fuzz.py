"""Schemathesis over the whole OpenAPI, through a real uvicorn server, on both backends.

Every operation gets generated requests that fit its schema and requests that break it,
sent with the credentials a client would use (the write key on ingestion and in-app
routes, the admin key elsewhere); no answer may be a server error, and every status must
be one the document declares for that operation. Bounded and derandomised, so the pass is
the same on every run and stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance
from sqlalchemy import Engine, text

from engine.catalog.catalog import Catalog
from engine.scheduler.jobs import heartbeat
from tests.e2e.bad_inputs import ADMIN, BASIC
from tests.support.server import live_server

EXAMPLES = 12  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance]  # and every status is declared
WRITE_KEY_ROUTES = ("/v1/batch", "/v1/identify", "/v1/track", "/v1/page", "/v1/screen")
WRITE_KEY_ROUTES += ("/v1/group", "/v1/alias", "/v1/inapp/")


@pytest.fixture
def catalog(example_catalog: Catalog) -> Catalog:
    return example_catalog  # experiments, webhooks and in-app items to look up


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    # A worker has beaten (the frozen clock keeps it fresh), so /readyz answers 200 unless
    # something is really wrong: its 503 is a server error like any other here.
    heartbeat(app.state.parcours)
    with live_server(app) as url:
        yield url


def credentials(path: str) -> dict[str, str]:
    uses_write_key = path.startswith(WRITE_KEY_ROUTES)
    return {"Authorization": BASIC} if uses_write_key else ADMIN


def test_no_generated_request_gets_a_server_error(base_url: str, db_engine: Engine) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _fuzz(operation, mode, base_url)
            if failure is not None:
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}):\n{failure}"
                )
    assert not failures, "\n\n".join(failures)
    with db_engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert stored > 0  # the body schemas describe what the routes take: messages got stored


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str) -> str | None:
    headers = credentials(operation.path)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        case.call_and_validate(
            base_url=base_url, headers=headers, checks=[not_a_server_error, status_code_conformance]
        )

    try:
        run()
    except Unsatisfiable:  # nothing in this operation's schema to break
        return None
    except Exception as exc:  # the first failing case of this operation, reported with all others
        return str(exc)
    return None
