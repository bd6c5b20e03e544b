"""Every code block of README.md and docs/ runs as written (or says why it is not run).

The markers and what running means per language: tests/support/docblocks.py and docrun.py.
The examples run on SQLite, the documented default; the engine parts they reach are tested
on both databases in their own modules.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from engine.api.app import create_app
from engine.catalog.catalog import load_catalog
from engine.clock import FrozenClock
from engine.config import Settings
from engine.store.db import create_db_engine
from engine.store.migrate import upgrade
from tests.conftest import START
from tests.support.docblocks import Block, MarkerError, read_blocks
from tests.support.docrun import ROOT, DocRunner, LiveApi, NotRunnable, copy_examples
from tests.support.server import live_server

PAGES = [Path("README.md"), *sorted(p.relative_to(ROOT) for p in (ROOT / "docs").glob("*.md"))]
# The defaults the README documents, which the examples use as they are.
WRITE_KEY, ADMIN_KEY = "dev-write-key", "dev-admin-key"


class StatusRecorder:
    """ASGI wrapper keeping the status of every response, so an example that got an error
    answer fails even when its client (an SDK sending in the background) stays silent."""

    def __init__(self, app: Any, statuses: list[int]):
        self.app, self.statuses = app, statuses

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, record)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], LiveApi]]:
    """The API on the example content, started on first use by a page that needs it."""
    started: list[LiveApi] = []
    with ExitStack() as stack:

        def get() -> LiveApi:
            if not started:
                started.append(_start(tmp_path_factory.mktemp("live-api"), stack))
            return started[0]

        yield get


def _start(directory: Path, stack: ExitStack) -> LiveApi:
    content = copy_examples(directory / "content")
    catalog, problems = load_catalog(content)
    assert catalog is not None, problems
    url = f"sqlite:///{directory / 'parcours.db'}"
    engine = create_db_engine(url)
    stack.callback(engine.dispose)
    upgrade(engine)
    settings = Settings(
        env="test",
        database_url=url,
        write_keys=[WRITE_KEY],
        admin_key=ADMIN_KEY,
        outbox_dir=directory / "outbox",
        content_dir=content,
    )
    app = create_app(settings, engine=engine, clock=FrozenClock(START), catalog=catalog)
    statuses: list[int] = []
    base = stack.enter_context(live_server(StatusRecorder(app, statuses)))
    return LiveApi(base, WRITE_KEY, ADMIN_KEY, statuses)


def run_page(page: Path, directory: Path, api: Callable[[], LiveApi]) -> list[str]:
    """Every failure of the page's blocks, as `page:line ```lang```: error`."""
    runner = DocRunner(directory / "work", directory / "scratch", api)
    failures = []
    for block in read_blocks(ROOT / page, page):
        try:
            runner.run(block)
        except Exception as exc:
            where = _failing_line(block, exc)
            failures.append(f"{where} ```{block.lang}```: {type(exc).__name__}: {exc}")
    return failures


def _failing_line(block: Block, error: Exception) -> str:
    """The page's line a Python block failed at (it is compiled at the page's lines), else
    the block's first line."""
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if frame.filename == str(block.page)]
    return f"{block.page}:{lines[-1]}" if lines else block.where


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_every_example_of_the_page_runs(
    page: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    live_api: Callable[[], LiveApi],
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    failures = run_page(page, tmp_path, live_api)
    assert not failures, "\n".join(failures)


# -- the runner catches what rots ---------------------------------------------------------


def _failures(tmp_path: Path, markdown: str, api: Callable[[], LiveApi]) -> list[str]:
    page = tmp_path / "page.md"
    page.write_text(markdown)
    (tmp_path / "work").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path / "work")
        return run_page(page, tmp_path, api)


def test_a_python_example_that_raises_fails_at_its_line(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = "# Page\n\n```python\nfrom engine.catalog import load_catalog\n\n"
    page += "load_catalog(Path('.'))\n```\n"
    (failure,) = _failures(tmp_path, page, live_api)
    assert "page.md:6 ```python```: NameError: name 'Path' is not defined" in failure


def test_a_testing_kit_example_on_a_missing_content_directory_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = (
        "```python\nfrom engine.testing import Simulation\n\n\n"
        "def test_welcome():\n    with Simulation('content/'):\n        pass\n```\n"
    )
    (failure,) = _failures(tmp_path, page, live_api)
    assert "InvalidContent: content: not a directory" in failure


def test_a_yaml_flow_with_an_unknown_template_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = "```yaml\nflow: welcome\ntrigger: {stage: signup}\nsteps:\n  - email: welcom\n```\n"
    (failure,) = _failures(tmp_path, page, live_api)
    assert "unknown template 'welcom' (did you mean 'welcome'?)" in failure


def test_a_yaml_flow_replaces_the_example_flow_of_its_name(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    """Laid over the example content, not added to it (which would be a duplicate flow)."""
    page = "```yaml\nflow: welcome\ntrigger: {stage: signup}\nsteps:\n  - email: welcome\n```\n"
    assert _failures(tmp_path, page, live_api) == []


def test_a_condition_is_checked_against_the_content(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = (
        "<!-- condition -->\n```yaml\nall:\n  - stage: signup\n  - not: {stage: activatoin}\n```\n"
    )
    (failure,) = _failures(tmp_path, page, live_api)
    assert "unknown stage 'activatoin'" in failure


def test_a_block_neither_runnable_nor_marked_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = "```\n$ parcours validate\n```\n\n```sh\nmake demo\n```\n"
    failures = _failures(tmp_path, page, live_api)
    assert [f.split(": ")[1] for f in failures] == [NotRunnable.__name__] * 2


def test_not_run_needs_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not run -->\n```sh\nmake demo\n```\n")
    with pytest.raises(MarkerError, match="needs a value"):
        read_blocks(page)


def test_a_command_exiting_otherwise_than_documented_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = "<!-- exit: 1 -->\n```sh\nparcours validate\n```\n"
    (failure,) = _failures(tmp_path, page, live_api)
    assert "exit 0" in failure


def test_an_output_line_the_command_does_not_print_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = (
        "```sh\nparcours validate\n```\n\n<!-- output -->\n```\n"
        "content is valid: 6 stages, 4 segments, 5 flows, 7 templates, 2 tutorials, 8 tips,"
        " 1 endpoint\n```\n\n"
        "```sh\nparcours validate\n```\n\n<!-- output -->\n```\n3 problems found\n```\n"
    )
    (failure,) = _failures(tmp_path, page, live_api)
    assert failure.startswith(f"{tmp_path / 'page.md'}:15 ")


def test_an_example_the_api_answers_with_an_error_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = (
        "```python\nimport httpx\n\n"
        "httpx.post('http://127.0.0.1:8000/v1/track', json={}, auth=('wrong-key', ''))\n```\n"
    )
    (failure,) = _failures(tmp_path, page, live_api)
    assert "the API answered [401]" in failure


def test_blocks_keep_their_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- file: flows/x.yaml -->\n```yaml\nflow: x\n```\n\n```json\n{}\n```\n")
    assert read_blocks(page, Path("page.md")) == [
        Block(Path("page.md"), 2, "yaml", "flow: x\n", {"file": "flows/x.yaml"}),
        Block(Path("page.md"), 6, "json", "{}\n", {}),
    ]


def test_a_curl_answering_otherwise_than_documented_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = (
        "```sh\ncurl http://127.0.0.1:8000/v1/webhooks/endpoints\n# -> 200\n```\n\n"
        '```sh\ncurl http://127.0.0.1:8000/v1/webhooks/endpoints -H "Authorization: Bearer '
        '$PARCOURS_ADMIN_KEY"\n# -> 200\n```\n'
    )
    (failure,) = _failures(tmp_path, page, live_api)
    assert failure.startswith(f"{tmp_path / 'page.md'}:1 ```sh```: AssertionError: 401")


def test_a_documented_test_file_that_fails_under_pytest_fails(
    tmp_path: Path, live_api: Callable[[], LiveApi]
) -> None:
    page = (
        "<!-- file: tests/test_flows.py -->\n```python\nfrom engine.testing import Simulation\n\n\n"
        "def test_welcome():\n    with Simulation('.') as sim:\n"
        "        assert sim.delivered('nobody', content='welcome')\n```\n\n"
        "```sh\npytest tests/\n```\n"
    )
    (failure,) = _failures(tmp_path, page, live_api)
    assert "exit 1" in failure
    assert "NotFound: no profile for user id 'nobody'" in failure
