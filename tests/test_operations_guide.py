"""The deployment guide, started as written: docs/operations.md's settings file and the
ExecStart lines of its systemd units run against a PostgreSQL database of their own. Two API
replicas (`serve --no-worker`) are live but not ready until the worker beats; then both are
ready, and the worker's metrics answer to the metrics token only."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from engine.demo.server import free_port
from engine.scheduler.heartbeat import heartbeats
from engine.store.db import create_db_engine
from tests.support.docblocks import read_blocks
from tests.support.docrun import ROOT, copy_examples

GUIDE = ROOT / "docs" / "operations.md"
# Where the guide installs things, and where this test puts them instead.
ETC, SRV, BIN = "/etc/parcours", "/srv/parcours", "/opt/parcours/venv/bin/parcours"
PARCOURS = str(Path(sys.executable).parent / "parcours")  # the entry point pip installs
WAIT_SECONDS = 90  # bound on a process turning healthy or ready on a loaded machine


def guide_files() -> dict[str, str]:
    """The guide's `<!-- file: ... -->` blocks by name (deploy/parcours.env, the units)."""
    return {b.marks["file"]: b.text for b in read_blocks(GUIDE) if "file" in b.marks}


def settings_file(text_: str) -> dict[str, str]:
    """systemd's EnvironmentFile=: KEY=VALUE lines, # comments."""
    pairs = (line.split("=", 1) for line in text_.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


@dataclass
class Unit:
    """A unit's command line and Environment= settings, for one instance (%i)."""

    argv: list[str]
    environment: dict[str, str] = field(default_factory=dict)


def unit(text_: str, instance: str = "") -> Unit:
    lines = [line.replace("%i", instance) for line in text_.splitlines()]
    (start,) = [line.removeprefix("ExecStart=") for line in lines if line.startswith("ExecStart=")]
    argv = shlex.split(start)
    assert argv[0] == BIN
    environment = [line.removeprefix("Environment=") for line in lines]
    found = Unit([PARCOURS, *argv[1:]])
    for pair in environment:
        if pair.startswith("PARCOURS_"):
            key, _, value = pair.partition("=")
            found.environment[key] = value
    return found


@dataclass
class Deployment:
    """The guide's layout under a temporary directory, its secrets and its processes."""

    root: Path
    database_url: str
    secrets: dict[str, str]
    env: dict[str, str]
    processes: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def run(self, unit_: Unit) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            unit_.argv,
            env=self.env | unit_.environment,
            cwd=self.root / "srv",
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, unit_: Unit) -> subprocess.Popen[bytes]:
        log = self.root / f"process-{len(self.processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                unit_.argv,
                env=self.env | unit_.environment,
                cwd=self.root / "srv",
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        return process

    def logs(self) -> str:
        return "\n".join(log.read_text(errors="replace") for _, log in self.processes)

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        """Poll `check` until it holds; fail at once if a process died, or after the bound."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not check():
            dead = [p.args for p, _ in self.processes if p.poll() is not None]
            assert not dead, f"{dead} exited while waiting for {what}:\n{self.logs()}"
            assert time.monotonic() < deadline, f"no {what} in {WAIT_SECONDS} s:\n{self.logs()}"
            time.sleep(0.2)

    def stop(self) -> list[int]:
        """SIGTERM to each, as `systemctl stop` sends; their exit codes (-9: killed after
        the bound)."""
        for process, _ in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(timeout=WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [process.returncode for process, _ in self.processes]


def secret_values(database_url: str) -> dict[str, str]:
    """A value for each secret file the guide names, good enough for PARCOURS_ENV=prod."""
    return {
        "database_url": database_url,
        "write_keys": secrets.token_hex(12),
        "server_write_keys": secrets.token_hex(24),
        "admin_key": secrets.token_hex(24),
        "metrics_token": secrets.token_hex(24),
        "link_secret": secrets.token_hex(24),
        "inapp_secret": secrets.token_hex(24),
        "smtp_url": f"smtp://parcours:{secrets.token_hex(8)}@127.0.0.1:1",
    }


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    server = make_url(postgres_url)
    name = f"guide_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(postgres_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        # The server trusts local connections; the password is there to be kept out of logs.
        url = server.set(database=name, password=secrets.token_hex(12))
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    etc, srv = tmp_path / "etc", tmp_path / "srv"
    copy_examples(srv / "content")
    values = secret_values(database_url)
    settings = settings_file(guide_files()["deploy/parcours.env"])
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PARCOURS_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout, as if installed
    for key, value in settings.items():
        value = value.replace(ETC, str(etc)).replace(SRV, str(srv))
        if key.endswith("_FILE"):
            path = Path(value)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(values[path.name] + "\n")
        env[key] = value
    found = Deployment(tmp_path, database_url, values, env)
    try:
        yield found
    finally:
        found.stop()


def answers(url: str, status: int, **headers: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, headers=headers, timeout=5).status_code == status
        except httpx.TransportError:
            return False

    return check


def test_the_guides_units_run_replicas_and_a_worker_until_ready(deployment: Deployment) -> None:
    files = guide_files()
    migrated = deployment.run(unit(files["deploy/parcours-migrate.service"]))
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout

    apis = [f"http://127.0.0.1:{port}" for port in (free_port(), free_port())]
    for api in apis:
        deployment.start(unit(files["deploy/parcours-api@.service"], api.rsplit(":", 1)[1]))
    for api in apis:
        deployment.wait_for(f"{api}/healthz", answers(f"{api}/healthz", 200))
    not_ready = [httpx.get(f"{api}/readyz") for api in apis]

    metrics_port = str(free_port())
    worker = deployment.start(unit(files["deploy/parcours-worker@.service"], metrics_port))
    for api in apis:
        deployment.wait_for(f"{api}/readyz", answers(f"{api}/readyz", 200))
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    token = {"Authorization": f"Bearer {deployment.secrets['metrics_token']}"}
    deployment.wait_for("worker metrics", answers(metrics_url, 200, **token))
    # The guide trusts X-Forwarded-For from its proxy on 127.0.0.1.
    httpx.get(f"{apis[0]}/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
    scraped = httpx.get(metrics_url, headers=token)
    refused = httpx.get(metrics_url)
    engine = create_db_engine(deployment.database_url)
    try:
        with engine.connect() as conn:
            beating = set(conn.execute(select(heartbeats.c.worker)).scalars())
    finally:
        engine.dispose()

    assert [a.status_code for a in not_ready] == [503, 503]
    assert {a.json()["checks"]["worker"] for a in not_ready} == {"no worker heartbeat yet"}
    assert beating == {f"{socket.gethostname()}:{worker.pid}"}  # the replicas run no jobs
    assert scraped.status_code == 200
    assert 'parcours_job_duration_seconds_count{job="heartbeat"}' in scraped.text
    assert "parcours_timer_lag_seconds 0.0" in scraped.text
    assert refused.status_code == 401
    logs = deployment.logs()
    json_lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    access = [line for line in json_lines if line["logger"] == "parcours.access"]
    assert not [line for line in json_lines if line["logger"].startswith("apscheduler")]
    assert any(line["path"] == "/readyz" and line["status"] == 200 for line in access), logs
    assert {line["client"] for line in access if line["path"] == "/healthz"} == {
        "127.0.0.1",
        "203.0.113.7",
    }
    # SIGTERM stops each cleanly: uvicorn raises it again once shut down (systemd counts
    # that as a clean stop), the worker exits 0 once its running jobs are done.
    assert deployment.stop() == [-signal.SIGTERM, -signal.SIGTERM, 0], deployment.logs()
    password = make_url(deployment.database_url).password
    assert password
    for name, value in [*deployment.secrets.items(), ("database password", password)]:
        if name != "database_url":  # the banner shows it, its password hidden
            assert value not in logs, name
