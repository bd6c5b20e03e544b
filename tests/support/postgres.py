"""A private PostgreSQL server for the test session (Debian's binaries, 127.0.0.1 only).

Set PARCOURS_TEST_POSTGRES_URL to use an existing server instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.demo.server import free_port


def _bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found: run `bash .ci/ensure-postgres` "
            "(installs Debian's postgresql) or set PARCOURS_TEST_POSTGRES_URL"
        )
    return Path(candidates[-1])


class PostgresServer:
    """initdb + pg_ctl in a temporary directory; stopped by `stop()`."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # benchmarks keep fsync on; tests trade it for speed
        self.bindir = _bindir()
        self.datadir = Path(tempfile.mkdtemp(prefix="parcours-pg-"))
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            account = pwd.getpwnam("postgres")
            os.chown(self.datadir, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        data = str(self.datadir / "data")
        self._run(
            str(self.bindir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        # The server must not inherit our pipes, or waiting for pg_ctl never ends.
        log = str(self.datadir / "server.log")
        self._run(str(self.bindir / "pg_ctl"), "-D", data, "-l", log, "-o", options, "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            data = str(self.datadir / "data")
            self._run(str(self.bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)
