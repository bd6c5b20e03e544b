"""The `parcours` command line."""

from __future__ import annotations

from pathlib import Path

import typer
from fastapi import FastAPI
from sqlalchemy import Engine

from engine.config import Settings
from engine.errors import ConfigurationError
from engine.scheduler.jobs import schedule

app = typer.Typer(help="Parcours: onboarding automation engine.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
experiments_app = typer.Typer(help="Experiment results.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")


def _settings() -> Settings:
    settings = Settings()
    try:
        settings.check_secrets()
    except ConfigurationError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from exc
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to PARCOURS_DATABASE_URL."""
    from engine.store.db import create_db_engine
    from engine.store.migrate import upgrade

    upgrade(create_db_engine(_settings().database_url))
    typer.echo("database is up to date")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run the API (migrating the database first)."""
    import uvicorn

    from engine.store.db import create_db_engine
    from engine.store.migrate import upgrade

    settings = _settings()
    db = create_db_engine(settings.database_url)
    upgrade(db)
    api = _app_or_exit(settings, db)
    key = settings.write_keys[0] if settings.write_keys else "<write key>"
    typer.echo(
        f"Parcours listening on http://{host}:{port}  (database: {settings.database_url})\n"
        "Send an event:\n"
        f"  curl -u '{key}:' -H 'Content-Type: application/json' "
        f"http://{host}:{port}/v1/track \\\n"
        '    -d \'{"userId": "sophie", "event": "campaign_created"}\'\n'
        "Then read the profile:\n"
        f"  curl -H 'Authorization: Bearer {settings.admin_key}' "
        f"http://{host}:{port}/v1/profiles/sophie"
    )
    scheduler = schedule(api.state.parcours)  # the embedded worker
    scheduler.start()
    try:
        uvicorn.run(api, host=host, port=port, log_level="warning")
    finally:
        scheduler.shutdown(wait=False)


@app.command()
def worker() -> None:
    """Run the periodic jobs alone (no API), against PARCOURS_DATABASE_URL."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from engine.store.db import create_db_engine
    from engine.store.migrate import upgrade

    settings = _settings()
    db = create_db_engine(settings.database_url)
    upgrade(db)
    api = _app_or_exit(settings, db)
    typer.echo("Parcours worker running; Ctrl-C to stop")
    schedule(api.state.parcours, BlockingScheduler(timezone="UTC")).start()


def _app_or_exit(settings: Settings, db: Engine) -> FastAPI:
    from engine.api.app import create_app

    try:
        return create_app(settings, engine=db)
    except ConfigurationError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc


@app.command()
def validate(
    directory: Path = typer.Argument(Path("."), help="Content directory (flows/, segments/ ...)."),
    output_format: str = typer.Option("text", "--format", help="text or json"),
) -> None:
    """Check content files; every problem as path:line:column: message. Exit 1 if any."""
    from engine.catalog.commands import validate as run_validate

    if output_format not in ("text", "json"):
        typer.echo("--format must be text or json", err=True)
        raise typer.Exit(2)
    raise typer.Exit(run_validate(directory, output_format))


@app.command()
def simulate(
    profile: Path = typer.Option(..., help='JSON: {"user_id": ..., "traits": {...}}'),
    events: Path = typer.Option(..., help='JSON lines: {"at": "2h", "event": ...}'),
    until: str = typer.Option("14d", help="How long to simulate from the start."),
    content: Path = typer.Option(Path("."), help="Content directory."),
) -> None:
    """Run one profile through the catalog on a virtual clock and print its timeline."""
    from engine.flows.simulate import InputError, InvalidContent
    from engine.flows.simulate import simulate as run_simulation

    try:
        lines = run_simulation(content, profile, events, until)
    except (InputError, InvalidContent) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo("\n".join(lines))


@experiments_app.command("analyze")
def experiments_analyze(
    csv: Path = typer.Option(..., help="One row per user: user_id, variant, converted, ..."),
    control: str | None = typer.Option(None, help="Control variant (default: first seen)."),
    output_format: str = typer.Option("table", "--format", help="table or json"),
    weights: str | None = typer.Option(None, help="Design weights, e.g. control=50,b=50."),
    correction: str = typer.Option("none", help="Across variants: none, holm or bh."),
) -> None:
    """Analyse an exported experiment offline (docs/experiments.md)."""
    from engine.experiments.analyze import analyze_command

    code = analyze_command(csv, control, output_format, weights=weights, correction=correction)
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
