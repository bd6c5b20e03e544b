"""Emails rendered and written per second, against a bare Jinja2 render of the same template.

engine: everything a delivered email costs after the decision: pick the localised template,
render subject/HTML/text, inline the CSS, derive nothing (the template has a text part),
sign the unsubscribe link, build the MIME message and write it to the file outbox.
baseline: `template.render(context)` of the same HTML template, in the same run.

    python benchmarks/emails.py [--emails 3000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.catalog.catalog import load_catalog
from engine.catalog.templates import render_context
from engine.channels.email import EmailOptions, OutboxTransport, render_message
from engine.clock import FrozenClock

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=3000)
    args = parser.parse_args()
    catalog, problems = load_catalog(ROOT)
    assert catalog is not None, problems
    template = catalog.templates["welcome"]
    options = EmailOptions(
        "https://onboarding.example.com", "x" * 32, "unsubscribe@example.com", "bench@example.com"
    )
    traits = [
        {"email": f"u{i}@example.com", "first_name": f"User{i}", "company": "Lumen"}
        for i in range(args.emails)
    ]
    jinja = catalog.email_environment.get_template(template.html)
    started = time.perf_counter()
    for i, t in enumerate(traits):
        jinja.render(render_context(f"u{i}", t))
    bare = args.emails / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as outbox:
        transport = OutboxTransport(
            Path(outbox), "Postwave <hello@example.com>", FrozenClock(datetime.now(UTC))
        )
        started = time.perf_counter()
        for i, t in enumerate(traits):
            message = render_message(catalog, options, i + 1, "welcome", f"u{i}", t)
            assert transport.send(message).status == "sent"
        engine = args.emails / (time.perf_counter() - started)
    print(f"bare Jinja2 render          {bare:10,.0f} emails/s")
    print(
        f"engine: render + inline + MIME + outbox write {engine:10,.0f} emails/s"
        f"   ratio {engine / bare:5.1%}"
    )


if __name__ == "__main__":
    main()
