"""Runs the documentation's code blocks (tests/support/docblocks.py reads them).

Each page gets a working directory holding the repository's example content (`flows/`,
`segments/`, `templates/`, `docs/examples/`), the way a team's content repository looks.
By language:

- `python`: executed there; `test_*` functions it defines are then called, as pytest would.
  `http://127.0.0.1:8000`, the address the docs always write, becomes a live API's address
  (the example content, the documented default keys), and the block fails if that API
  answered any request with an error.
- `yaml`: content documents (first key `flow`, `segment`, `stages` ...) are laid over a copy
  of the page's content (the example content and the page's `file:` blocks so far),
  replacing the definitions of the same name, and the catalog must load without a problem.
  `fragment`, `condition`, `models` and `file:` are explained in docblocks.py; a `file:`
  block under a content folder is validated with the whole catalog.
- `html+jinja`, `jinja`: must be `file:` blocks of `templates/emails/`, validated likewise.
- `json`: must parse.
- `sh`: `parcours ...` through typer's CliRunner, `pytest ...` in a subprocess (the
  repository on the path, as if parcours were installed), `curl ...` translated to httpx
  against the live API (`$PARCOURS_ADMIN_KEY` and `$PARCOURS_WRITE_KEY` expand to its keys;
  a `# -> 201` line after a command is the status it must answer).

Anything else must be marked `<!-- not run: reason -->`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from typer.testing import CliRunner

from engine.catalog.catalog import CONTENT_FOLDERS, load_catalog
from engine.catalog.definitions import DOCUMENT_KINDS
from engine.cli import app as cli
from tests.ml.conftest import activation_model, persona_model
from tests.support.docblocks import Block

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = (*CONTENT_FOLDERS, "docs/examples")
DOCS_URL = "http://127.0.0.1:8000"
_SEGMENT_KINDS = ("stages", "segment")
_STATUS = re.compile(r"^#\s*->\s*(\d{3})\b")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


@dataclass
class LiveApi:
    """A running API: its URL, its keys, and the status of every response it gave."""

    url: str
    write_key: str
    admin_key: str
    statuses: list[int] = field(default_factory=list)


class NotRunnable(AssertionError):
    """A block no runner takes and no marker excuses."""


def copy_examples(target: Path) -> Path:
    for name in EXAMPLES:
        shutil.copytree(ROOT / name, target / name, dirs_exist_ok=True)
    return target


def train_models(content: Path) -> None:
    """The persona model `personas` (v1, clusters 0-3) and the activation model
    `activation` (v1), trained on the ML tests' synthetic population, unless present."""
    models = content / "segments" / "models"
    if not (models / "personas-v1").exists():
        persona_model(content)
    if not (models / "activation-v1").exists():
        activation_model(content)


def check_content(content: Path) -> None:
    catalog, problems = load_catalog(content)
    if catalog is None:
        raise AssertionError("\n".join(p.format(content) for p in problems))


class DocRunner:
    """Runs one page's blocks in order, in `workdir` (the current directory while it runs)."""

    def __init__(self, workdir: Path, scratch: Path, api: Callable[[], LiveApi]):
        self.workdir = copy_examples(workdir)
        self.scratch = scratch
        self.api = api
        self.output = ""
        self.runners: dict[str, Callable[[Block], None]] = {
            "python": self._python,
            "yaml": self._yaml,
            "json": parse,
            "sh": self._sh,
        }

    def run(self, block: Block) -> None:
        if "not run" in block.marks:
            return
        if "models" in block.marks:
            train_models(self.workdir)
        if "output" in block.marks:
            expect_output(block.text, self.output)
        elif "file" in block.marks:
            self._file(block, block.marks["file"])
        elif block.lang in self.runners:
            self.runners[block.lang](block)
        else:
            raise NotRunnable(f"no runner for ```{block.lang}```: mark it <!-- not run: reason -->")

    # -- by language ------------------------------------------------------------------------

    def _python(self, block: Block) -> None:
        source = block.text
        api = self.api() if DOCS_URL in source else None
        if api is not None:
            source = source.replace(DOCS_URL, api.url)
            seen = len(api.statuses)
        # Leading newlines keep tracebacks at the page's own line numbers.
        code = compile("\n" * block.line + source, str(block.page), "exec")
        namespace: dict[str, Any] = {"__name__": "doc_example"}
        exec(code, namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                value()
        if api is not None:
            answered = api.statuses[seen:]
            assert answered, "the example never reached the API"
            errors = [status for status in answered if status >= 400]
            assert not errors, f"the API answered {errors}"

    def _yaml(self, block: Block) -> None:
        parse(block)
        if "fragment" in block.marks:
            return
        text = _flow_exiting_when(block.text) if "condition" in block.marks else block.text
        content = self.scratch / f"overlay-{block.line}"
        shutil.copytree(self.workdir, content)
        lay_over(content, text)
        check_content(content)

    def _file(self, block: Block, name: str) -> None:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, encoding="utf-8")
        if Path(name).parts[0] in CONTENT_FOLDERS:
            check_content(self.workdir)
        else:
            parse(block)  # a test file is run by the sh block that runs pytest

    def _sh(self, block: Block) -> None:
        expected = int(block.marks.get("exit", "0"))
        self.output = ""
        for argv, status in commands(block.text):
            argv = [self._expand(arg) for arg in argv]
            match argv[0]:
                case "parcours":
                    result = CliRunner().invoke(cli, argv[1:])
                    self.output += result.output
                    assert result.exit_code == expected, f"exit {result.exit_code}: {result.output}"
                case "pytest":
                    self._pytest(argv[1:], expected)
                case "curl":
                    response = curl(argv, self.api())
                    self.output += response.text
                    got = response.status_code
                    assert got == status if status else got < 400, f"{got}: {response.text}"
                case other:
                    raise NotRunnable(f"cannot run '{other}': mark it <!-- not run: reason -->")

    def _pytest(self, args: list[str], expected: int) -> None:
        env = os.environ | {"PYTHONPATH": str(ROOT)}  # stands for `pip install parcours`
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
        done = subprocess.run(command, cwd=self.workdir, env=env, capture_output=True, text=True)
        self.output += done.stdout
        assert done.returncode == expected, f"exit {done.returncode}:\n{done.stdout}{done.stderr}"

    def _expand(self, arg: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match[1] or match[2]
            keys = {"PARCOURS_ADMIN_KEY": "admin_key", "PARCOURS_WRITE_KEY": "write_key"}
            if name not in keys:
                raise NotRunnable(f"${name} is not known to the docs runner")
            return str(getattr(self.api(), keys[name]))

        return _VARIABLE.sub(value, arg)


def parse(block: Block) -> None:
    """Parse a block as its language (a `file:` block of another kind is only written)."""
    if block.lang == "python":
        compile(block.text, str(block.page), "exec")
    elif block.lang == "yaml":
        list(yaml.safe_load_all(block.text))
    elif block.lang == "json":
        json.loads(block.text)


# -- content overlays -------------------------------------------------------------------------


def _name_of(document: Any) -> tuple[str, Any] | None:
    """(kind, name) of a content document; the stage list has no name but its kind."""
    if not isinstance(document, dict) or not document:
        return None
    kind = next(iter(document))
    return (kind, document[kind] if kind in DOCUMENT_KINDS and kind != "stages" else None)


def _documents(text: str) -> list[tuple[str, tuple[str, Any] | None]]:
    """Each YAML document of `text`, as written, with its (kind, name)."""
    chunks = re.split(r"(?m)^---\s*$", text)
    return [(chunk, _name_of(yaml.safe_load(chunk))) for chunk in chunks]


def lay_over(content: Path, text: str) -> None:
    """Write the documents of `text` into `content`, removing those they replace by name."""
    documents = [(chunk, name) for chunk, name in _documents(text) if name is not None]
    names = {name for _, name in documents}
    for kind, _ in names:
        if kind not in DOCUMENT_KINDS:
            raise NotRunnable(
                f"'{kind}' is not a content document: mark the block fragment, file: or not run"
            )
    for folder in CONTENT_FOLDERS[:2]:
        for path in sorted((content / folder).rglob("*.y*ml")):
            chunks = _documents(path.read_text(encoding="utf-8"))
            kept = [(chunk, name) for chunk, name in chunks if name not in names]
            if len(kept) == len(chunks):
                continue
            if any(name for _, name in kept):
                path.write_text("---".join(chunk for chunk, _ in kept), encoding="utf-8")
            else:
                path.unlink()
    for index, (chunk, (kind, _)) in enumerate(documents):
        folder = "segments" if kind in _SEGMENT_KINDS else "flows"
        (content / folder / f"doc-example-{index}.yaml").write_text(chunk, encoding="utf-8")


def _flow_exiting_when(condition: str) -> str:
    """A flow whose `exit_when` is `condition`: the catalog checks it and its references."""
    indented = "".join(f"  {line}\n" for line in condition.splitlines())
    return "flow: doc-condition\ntrigger: {event: doc_event}\nsteps: [{wait: 1d}]\n" + (
        f"exit_when:\n{indented}"
    )


# -- shell -----------------------------------------------------------------------------------


def commands(text: str) -> list[tuple[list[str], int | None]]:
    """Each command's words (continuation lines joined), with the status a `# -> NNN`
    comment after it expects."""
    found: list[tuple[list[str], int | None]] = []
    for line in text.replace("\\\n", " ").splitlines():
        status = _STATUS.match(line.strip())
        if status and found:
            found[-1] = (found[-1][0], int(status[1]))
        words = shlex.split(line, comments=True)
        if words:
            found.append((words, None))
    return found


def curl(argv: list[str], api: LiveApi) -> httpx.Response:
    """The request a curl command line makes, sent to the live API."""
    method, headers, data, auth, url = "GET", {}, None, None, None
    words = iter(argv[1:])
    for word in words:
        if word in ("-X", "--request"):
            method = next(words)
        elif word in ("-H", "--header"):
            key, _, value = next(words).partition(":")
            headers[key.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-raw"):
            data = next(words)
            method = "POST" if method == "GET" else method
        elif word in ("-u", "--user"):
            user, _, password = next(words).partition(":")
            auth = (user, password)
        elif word.startswith("-"):
            raise NotRunnable(f"the docs runner does not translate the curl option {word}")
        else:
            url = word
    if url is None or not url.startswith(DOCS_URL):
        raise NotRunnable(f"curl {url}: the docs write {DOCS_URL}/...")
    return httpx.request(
        method, api.url + url.removeprefix(DOCS_URL), headers=headers, content=data, auth=auth
    )


def expect_output(expected: str, output: str) -> None:
    """Every line of `expected` but `...` appears in `output`, in the same order."""
    lines = iter(line.strip() for line in output.splitlines())
    for want in expected.splitlines():
        want = want.strip()
        if want in ("", "..."):
            continue
        if not any(want == got for got in lines):
            raise AssertionError(f"'{want}' is not in the output (in order):\n{output}")
