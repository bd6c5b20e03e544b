"""Reads `templates/emails/` and proves every email renders before any user gets one.

Layout: `<name>.html.j2` (required), `<name>.txt.j2` (optional plain-text part), and a
sidecar `<name>.yaml` with the subject and a preview profile. Files starting with `_`
(`_layout.html.j2`) are partials for `extends`/`include`. Each file is compiled on its own,
then each email is rendered with its preview profile under `StrictUndefined`; errors point
at the template file and the Jinja line they came from.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError

from engine.catalog.errors import validate_document
from engine.catalog.problems import Problem
from engine.catalog.templates import EmailTemplate, TemplateMeta, email_environment, render_email
from engine.catalog.yamlfile import YamlDocument, read_documents

EMAIL_DIR = Path("templates") / "emails"
# `welcome.html.j2`, and its translations `welcome.fr.html.j2`, `welcome.fr-CA.html.j2`.
_PART = re.compile(
    r"(?P<name>[a-z][a-z0-9_-]*(?:\.[a-z]{2}(?:-[A-Z]{2})?)?)\.(?P<part>html|txt)\.j2"
)


@dataclass
class _Parts:
    html: Path | None = None
    text: Path | None = None
    meta: Path | None = None


@dataclass
class EmailFiles:
    """The emails of a content directory and every template file's source (partials too).

    `names` holds every email with an HTML part, valid or not, so that a flow referring to a
    broken template is not also told the template does not exist.
    """

    templates: dict[str, EmailTemplate] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)


def load_templates(content_dir: Path) -> tuple[EmailFiles, list[Problem]]:
    """Every email under `content_dir/templates/emails`, compiled and preview-rendered."""
    directory = content_dir / EMAIL_DIR
    files = EmailFiles()
    problems: list[Problem] = []
    if not directory.is_dir():
        return files, problems
    paths = {path.name: path for path in sorted(directory.glob("*.j2"))}
    for name, path in paths.items():
        try:
            files.sources[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(path, 0, 0, "cannot read the file: it is not UTF-8 text"))
    environment = email_environment(files.sources)
    broken = {
        name
        for name, path in paths.items()
        if name not in files.sources or not _compiles(environment, path, problems)
    }
    groups = _group(directory, problems)
    for name, parts in groups.items():
        base = name.split(".")[0]
        if parts.html is not None and base != name and groups.get(base, _Parts()).html is None:
            message = f"'{name}' translates '{base}', but there is no {base}.html.j2"
            problems.append(Problem(parts.html, 0, 0, message))
        if parts.html is not None:
            files.names.add(name)
        assembled = _assemble(name, parts, environment, problems)
        if assembled is None:
            continue
        template, meta_document = assembled
        files.templates[name] = template
        if not {template.html, template.text} & broken:
            _render_preview(environment, template, meta_document, paths, problems)
    return files, problems


def _group(directory: Path, problems: list[Problem]) -> dict[str, _Parts]:
    """The files of each email by name; partials are skipped, stray `.j2` names reported."""
    groups: dict[str, _Parts] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix in (".yaml", ".yml"):
            groups.setdefault(path.stem, _Parts()).meta = path
        elif path.suffix == ".j2" and not path.name.startswith("_"):
            match = _PART.fullmatch(path.name)
            if match is None:
                message = (
                    "unexpected template file name: use <name>.html.j2, <name>.txt.j2, "
                    "or _<partial>.j2, with a lowercase name"
                )
                problems.append(Problem(path, 0, 0, message))
                continue
            parts = groups.setdefault(match["name"], _Parts())
            if match["part"] == "html":
                parts.html = path
            else:
                parts.text = path
    return groups


def _assemble(
    name: str, parts: _Parts, environment: Environment, problems: list[Problem]
) -> tuple[EmailTemplate, YamlDocument] | None:
    """The email named `name` and its sidecar document, if its files are complete."""
    if parts.html is None:
        stray = parts.text or parts.meta
        assert stray is not None
        problems.append(Problem(stray, 0, 0, f"no {name}.html.j2 for this email template"))
        return None
    if parts.meta is None:
        message = f"missing {name}.yaml with the subject and preview profile"
        problems.append(Problem(parts.html, 0, 0, message))
        return None
    meta, document = _read_meta(parts.meta, problems)
    if meta is None or document is None:
        return None
    try:
        environment.from_string(meta.subject)
    except TemplateSyntaxError as exc:
        problems.append(document.problem(("subject",), f"template syntax error: {exc.message}"))
        return None
    text = parts.text.name if parts.text else None
    return EmailTemplate(name, meta.subject, parts.html.name, text, meta.preview), document


def _read_meta(
    path: Path, problems: list[Problem]
) -> tuple[TemplateMeta | None, YamlDocument | None]:
    documents, found = read_documents(path)
    problems.extend(found)
    if found:
        return None, None
    if len(documents) != 1:
        problems.append(Problem(path, 0, 0, "expected one YAML document (subject and preview)"))
        return None, None
    meta, found = validate_document(documents[0], TemplateMeta)
    problems.extend(found)
    return meta, documents[0]


def _compiles(environment: Environment, path: Path, problems: list[Problem]) -> bool:
    try:
        environment.get_template(path.name)
    except TemplateSyntaxError as exc:
        problems.append(Problem(path, exc.lineno, 1, f"template syntax error: {exc.message}"))
        return False
    return True


def _render_preview(
    environment: Environment,
    template: EmailTemplate,
    meta_document: YamlDocument,
    paths: dict[str, Path],
    problems: list[Problem],
) -> None:
    """Render the email for its preview profile; a failure points at the template line that
    raised it (Jinja rewrites tracebacks to template file names and lines), or at the
    subject in the sidecar when no template file was involved."""
    try:
        render_email(environment, template, template.preview.context())
    except Exception as exc:  # any error in untrusted template code is the author's problem
        message = f"cannot render the preview of '{template.name}': {exc}"
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in paths]
        if frames and frames[-1].lineno is not None:
            problems.append(Problem(paths[frames[-1].filename], frames[-1].lineno, 1, message))
        else:
            problems.append(meta_document.problem(("subject",), message))
