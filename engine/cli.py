"""The `parcours` command line."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from engine.config import Settings
from engine.errors import ConfigurationError
from engine.scheduler.jobs import schedule


class _Commands(TyperGroup):
    """Every command: refused settings and an unusable database are one message naming
    what to fix, exit 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(2) from None
        except OperationalError as exc:
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            typer.echo(f"cannot use the database of PARCOURS_DATABASE_URL: {reason}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Commands, help="Parcours: onboarding automation engine.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
experiments_app = typer.Typer(help="Experiment results.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")
personas_app = typer.Typer(help="Personas discovered from data.", no_args_is_help=True)
app.add_typer(personas_app, name="personas")
model_app = typer.Typer(help="Predictive models.", no_args_is_help=True)
model_train_app = typer.Typer(help="Train a model.", no_args_is_help=True)
model_app.add_typer(model_train_app, name="train")
app.add_typer(model_app, name="model")


def _print_version(requested: bool) -> None:
    if requested:
        typer.echo(f"parcours {version('parcours')}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Parcours: onboarding automation engine.

    Every command starts from valid settings, even those that read none."""
    Settings()


def _settings() -> Settings:
    settings = Settings()
    settings.check_secrets()
    return settings


@contextmanager
def _database() -> Iterator[Engine]:
    """The engine of PARCOURS_DATABASE_URL for one command, its connections closed after."""
    from engine.store.db import create_db_engine

    engine = create_db_engine(_settings().database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to PARCOURS_DATABASE_URL."""
    from engine.store.migrate import upgrade

    with _database() as engine:
        upgrade(engine)
    typer.echo("database is up to date")


@db_app.command("current")
def db_current() -> None:
    """Print the revisions the database is at, and whether that is the code's heads."""
    from engine.store.migrate import code_heads, database_heads

    with _database() as engine:
        heads = database_heads(engine)
    typer.echo("\n".join(sorted(heads)) or "no revision (run parcours db upgrade)")
    behind = sorted(code_heads() - heads)
    typer.echo(f"pending: {', '.join(behind)}" if behind else "up to date")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., help="Target revision (parcours db current names them)."),
) -> None:
    """Undo migrations down to REVISION (before rolling the code back to that release)."""
    from alembic.util import CommandError

    from engine.store.migrate import downgrade

    try:
        with _database() as engine:
            downgrade(engine, revision)
    except CommandError as exc:
        typer.echo(f"cannot downgrade to {revision}: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"database downgraded to {revision}")


@db_app.command("recount")
def db_recount() -> None:
    """Recompute the flow page's counters and the stage kept on events and deliveries from
    the rows (after loading rows around the engine)."""
    from engine.store.db import write_transaction
    from engine.store.recount import rebuild
    from engine.store.stages import backfill

    with _database() as engine, write_transaction(engine) as conn:
        rebuild(conn)
        backfill(conn)
    typer.echo("counters and stages recomputed")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="API only: leave the periodic jobs to `parcours worker`."
    ),
) -> None:
    """Run the API (migrating the database first), with the embedded worker unless
    --no-worker (replicas behind a load balancer)."""
    import uvicorn

    from engine.heap import freeze_startup_heap
    from engine.logs import configure_logging
    from engine.store.db import create_db_engine
    from engine.store.migrate import upgrade

    settings = _settings()
    configure_logging(settings)
    db = create_db_engine(settings.database_url)
    upgrade(db)
    api = _app_or_exit(settings, db)
    typer.echo(startup_banner(settings, host, port))
    scheduler = None if no_worker else schedule(api.state.parcours)  # the embedded worker
    freeze_startup_heap()
    if scheduler is not None:
        scheduler.start()
    try:
        uvicorn.run(
            api,
            host=host,
            port=port,
            log_config=None,
            log_level=settings.log_level,
            access_log=False,  # engine.logs writes its own, without secrets
            proxy_headers=settings.proxy_headers,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def startup_banner(settings: Settings, host: str, port: int) -> str:
    """Where the API listens and two example calls. Secrets appear only in `dev`, where
    they are the documented defaults; the database password never does."""
    dev = settings.env == "dev"
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    key = settings.write_keys[0] if dev and settings.write_keys else "<write key>"
    admin = settings.admin_key if dev else "<PARCOURS_ADMIN_KEY>"
    return (
        f"Parcours listening on http://{host}:{port}  (database: {database})\n"
        "Send an event:\n"
        f"  curl -u '{key}:' -H 'Content-Type: application/json' "
        f"http://{host}:{port}/v1/track \\\n"
        '    -d \'{"userId": "sophie", "event": "campaign_created"}\'\n'
        "Then read the profile:\n"
        f"  curl -H 'Authorization: Bearer {admin}' http://{host}:{port}/v1/profiles/sophie"
    )


@app.command()
def worker() -> None:
    """Run the periodic jobs alone (no API), against PARCOURS_DATABASE_URL; metrics on
    127.0.0.1:PARCOURS_WORKER_METRICS_PORT/metrics when that is set."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from engine.heap import freeze_startup_heap
    from engine.logs import configure_logging
    from engine.scheduler.listener import serve_metrics
    from engine.store.db import create_db_engine
    from engine.store.migrate import upgrade

    settings = _settings()
    configure_logging(settings)
    db = create_db_engine(settings.database_url)
    upgrade(db)
    state = _app_or_exit(settings, db).state.parcours
    scheduler = schedule(state, BlockingScheduler(timezone="UTC"))
    port = settings.worker_metrics_port
    if port:
        try:
            serve_metrics(state.metrics.registry, state.may_read_metrics, port)
        except OSError as exc:
            raise ConfigurationError(
                f"PARCOURS_WORKER_METRICS_PORT: cannot listen on 127.0.0.1:{port} ({exc.strerror})"
            ) from None
    where = f"; metrics on http://127.0.0.1:{port}/metrics" if port else ""
    typer.echo(f"Parcours worker running{where}; Ctrl-C to stop")
    # systemd stops with SIGTERM: the jobs running finish their batch, then the process ends.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=True))
    freeze_startup_heap()
    scheduler.start()


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
def demo(
    users: int = typer.Option(5_000, help="Simulated users."),
    days: int = typer.Option(30, help="Simulated days."),
    seed: int = typer.Option(7, help="Random seed."),
    serve: bool = typer.Option(False, "--serve", help="Keep the API running afterwards."),
    port: int = typer.Option(8000, help="Port for --serve."),
    content: Path = typer.Option(Path("."), help="Content directory (the example content)."),
) -> None:
    """Run a simulated SaaS onboarding end to end through the API and report on it."""
    from engine.demo.main import run

    raise typer.Exit(
        run(users=users, days=days, seed=seed, serve=serve, port=port, content=content)
    )


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


@personas_app.command("discover")
def personas_discover(
    k: str = typer.Option("auto", help="Number of personas, or auto (silhouette)."),
    name: str = typer.Option("personas", help="Model name (segments/models/<name>-vN)."),
    window: str = typer.Option("3d", help="Behaviour observed after signup."),
    max_k: int = typer.Option(8, help="Largest k tried with --k auto."),
    seed: int = typer.Option(0, help="Random seed."),
    priority: int | None = typer.Option(None, help="Priority of the first discovered segment."),
    stage: str = typer.Option("activation", help="Stage whose rate describes each persona."),
    traits: str | None = typer.Option(None, help="Comma-separated traits to use."),
    exclude_traits: str | None = typer.Option(None, help="Comma-separated traits to ignore."),
) -> None:
    """Cluster profiles into personas and write them as segments with their model."""
    from engine.ml.commands import discover_command

    s = _settings()
    raise typer.Exit(
        discover_command(
            s.content_dir,
            s.database_url,
            k,
            name=name,
            window=window,
            max_k=max_k,
            seed=seed,
            priority=priority,
            target_stage=stage,
            traits=traits,
            exclude_traits=exclude_traits,
        )
    )


@personas_app.command("insight")
def personas_insight(
    csv: Path = typer.Option(..., help="user_id, variant, converted, segment rows."),
    control: str | None = typer.Option(None, help="Control variant."),
    output_format: str = typer.Option("table", "--format", help="table or json"),
    alpha: float = typer.Option(0.05, help="Significance level."),
    correction: str = typer.Option("holm", help="Multiple-comparison correction."),
    min_users: int = typer.Option(100, help="Fewest users per arm to recommend."),
) -> None:
    """Which variant to ship to which persona, with the evidence."""
    from engine.ml.commands import insight_command

    raise typer.Exit(
        insight_command(
            csv,
            control,
            output_format=output_format,
            alpha=alpha,
            correction=correction,
            min_users=min_users,
        )
    )


@model_train_app.command("activation")
def model_train_activation(
    name: str = typer.Option("activation", help="Model name (segments/models/<name>-vN)."),
    observe: str = typer.Option("24h", help="Behaviour observed after signup."),
    within: str = typer.Option("14d", help="Activation window to predict."),
    stage: str = typer.Option("activation", help="The stage that counts as activated."),
    seed: int = typer.Option(0, help="Random seed."),
    min_auc: float = typer.Option(0.6, help="Refuse to save a model below this ROC AUC."),
) -> None:
    """Train the activation-risk model from the first hours of behaviour."""
    from engine.ml.commands import train_activation_command

    s = _settings()
    raise typer.Exit(
        train_activation_command(
            s.content_dir,
            s.database_url,
            name=name,
            observe=observe,
            within=within,
            stage=stage,
            seed=seed,
            min_auc=min_auc,
        )
    )


@experiments_app.command("report")
def experiments_report(
    key: str = typer.Argument(..., help="Experiment key (GET /v1/experiments lists them)."),
    output_format: str = typer.Option("table", "--format", help="table or json"),
    include_in_progress: bool = typer.Option(
        False, "--include-in-progress", help="Count profiles whose metric window is still open."
    ),
) -> None:
    """An experiment's results from the live database (docs/experiments.md)."""
    from engine.experiments.commands import report_command

    raise typer.Exit(report_command(key, output_format, include_in_progress=include_in_progress))


@experiments_app.command("plan")
def experiments_plan(
    key: str = typer.Argument(..., help="Experiment key (GET /v1/experiments lists them)."),
    lift: float = typer.Option(0.1, help="Relative lift to size for (0.1 = +10%)."),
    power: float = typer.Option(0.8, help="Power wanted."),
    output_format: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Detectable lift and days needed, from live traffic and baseline (docs/experiments.md)."""
    from engine.experiments.commands import plan_command

    raise typer.Exit(plan_command(key, output_format, lift=lift, power=power))


@experiments_app.command("export")
def experiments_export(
    key: str = typer.Argument(..., help="Experiment key (GET /v1/experiments lists them)."),
    csv: Path = typer.Option(..., help="File to write: one row per profile counted."),
    include_in_progress: bool = typer.Option(
        False, "--include-in-progress", help="Count profiles whose metric window is still open."
    ),
) -> None:
    """Write the per-user file `experiments analyze` reads, from the live database."""
    from engine.experiments.commands import export_command

    raise typer.Exit(export_command(key, csv, include_in_progress=include_in_progress))


@experiments_app.command("analyze")
def experiments_analyze(
    csv: Path = typer.Option(..., help="One row per user: user_id, variant, converted, ..."),
    control: str | None = typer.Option(None, help="Control variant (default: first seen)."),
    output_format: str = typer.Option("table", "--format", help="table or json"),
    weights: str | None = typer.Option(None, help="Design weights, e.g. control=50,b=50."),
    correction: str = typer.Option("none", help="Across variants: none, holm or bh."),
    min_users: int = typer.Option(0, min=0, help="Per arm, users needed for a finding."),
    min_conversions: int = typer.Option(0, min=0, help="Per arm, conversions needed."),
) -> None:
    """Analyse an exported experiment offline (docs/experiments.md)."""
    from engine.experiments.analyze import analyze_command
    from engine.experiments.statistics import MinimumSample

    minimum = MinimumSample(users=min_users, conversions=min_conversions)
    code = analyze_command(
        csv, control, output_format, weights=weights, correction=correction, minimum=minimum
    )
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
