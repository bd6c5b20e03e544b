"""`parcours demo`: run the simulation, print the summary, write the report, maybe serve."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from engine.api.app import create_app
from engine.demo.report import render_html, render_text, summarize
from engine.demo.runner import ADMIN_KEY, WRITE_KEY, DemoConfig, DemoRun, run_demo
from engine.demo.sample_app import sample_app_router
from engine.demo.server import serve_in_thread
from engine.heap import freeze_startup_heap


def run(*, users: int, days: int, seed: int, serve: bool, port: int, content: Path) -> int:
    if not any((content / "flows").glob("*.y*ml")):
        # An empty catalog would simulate users whom nothing happens to, without a word.
        typer.echo(
            f"error: no flows in {content.resolve() / 'flows'}. The demo runs the example"
            " content: run it from the repository root, or pass --content DIR.",
            err=True,
        )
        return 2
    config = DemoConfig(users=users, days=days, seed=seed, content_dir=content)
    typer.echo(f"Simulating {users:,} users over {days} days (SQLite in {config.directory})")
    freeze_startup_heap()  # the libraries loaded by now live as long as the demo
    started = time.monotonic()
    demo = _run_with_progress(config)
    elapsed = time.monotonic() - started
    with demo.engine.connect() as conn:
        summary = summarize(conn, demo.state.catalog, demo.clock.now())
    typer.echo("")
    typer.echo(render_text(summary))
    facts = {
        "users": f"{users:,}",
        "events through the API": f"{demo.events:,}",
        "HTTP requests": f"{demo.requests:,}",
        "seconds": f"{elapsed:.0f}",
    }
    report = Path(config.directory) / "report.html"
    report.write_text(render_html(summary, facts), encoding="utf-8")
    typer.echo(f"\n{demo.events:,} events and {demo.requests:,} requests in {elapsed:.0f} s")
    typer.echo(f"Report: {report}   Emails: {demo.settings.outbox_dir}")
    if not serve:
        typer.echo(
            "Explore it in the dashboard (journey map, flows, experiments, profiles): run "
            f"`parcours demo --serve`, then open http://127.0.0.1:{port}/dashboard "
            f"with the admin key {ADMIN_KEY}"
        )
    if serve:
        _serve(demo, port)
    return 0


def _run_with_progress(config: DemoConfig) -> DemoRun:
    """The simulation, with a progress bar of days only on a terminal: piped or logged
    output would get a lone `days` label and a final bar, and nothing in between."""
    if not sys.stdout.isatty():
        return run_demo(config, lambda done, total: None)
    with typer.progressbar(length=1, label="days") as bar:
        last = [0]

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - last[0])
            last[0] = done

        return run_demo(config, progress)


def _serve(demo: DemoRun, port: int) -> None:
    app = create_app(demo.settings, engine=demo.engine, clock=demo.clock)
    app.include_router(sample_app_router(app.state.parcours, WRITE_KEY))
    with serve_in_thread(app, port) as url:
        typer.echo(f"Serving on {url} (admin key {ADMIN_KEY}); Ctrl-C to stop")
        typer.echo(f"A demo user's app, with parcours.js showing their tour: {url}/demo-app")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
