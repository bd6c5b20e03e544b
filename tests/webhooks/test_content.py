"""Endpoint documents in content: subscriptions and secrets are checked at load."""

from __future__ import annotations

from pathlib import Path

from engine.catalog.catalog import load_catalog
from tests.flows.content import content_with


def problems_of(tmp_path: Path, endpoints: str) -> list[str]:
    content = content_with(tmp_path / "content")
    (content / "flows" / "endpoints.yaml").write_text(endpoints)
    _, problems = load_catalog(content)
    return [p.format(content) for p in problems]


def test_subscriptions_and_the_secret_variable_are_read(tmp_path: Path) -> None:
    content = content_with(tmp_path / "content")
    (content / "flows" / "endpoints.yaml").write_text(
        "endpoint: crm\nurl: https://crm.example.com/h\n"
        "events: [stage.entered, delivery.*, '*']\nsecret_env: CRM_WEBHOOK_SECRET\n"
    )
    catalog, problems = load_catalog(content)

    assert problems == []
    assert catalog is not None
    endpoint = catalog.endpoints["crm"]
    assert endpoint.events == ("stage.entered", "delivery.*", "*")
    assert endpoint.secret_env == "CRM_WEBHOOK_SECRET"


def test_a_misspelt_event_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, "endpoint: crm\nurl: https://crm.example.com/h\nevents:\n  - stage.entred\n"
    )

    assert len(found) == 1
    assert found[0].startswith(
        "flows/endpoints.yaml:4:5: unknown webhook event 'stage.entred' "
        "(did you mean 'stage.entered'?); known events: stage.entered,"
    )


def test_an_event_listed_twice_is_reported(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, "endpoint: crm\nurl: https://crm.example.com/h\nevents: [flow.*, flow.*]\n"
    )

    assert found == ["flows/endpoints.yaml:3:9: 'flow.*' is listed twice"]


def test_a_secret_written_in_content_is_refused(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "endpoint: crm\nurl: https://crm.example.com/h\n"
        "secret_env: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )

    assert found == [
        "flows/endpoints.yaml:3:13: expected the name of an environment variable such as "
        "CRM_WEBHOOK_SECRET (the secret itself never belongs in content), "
        "got 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'"
    ]
