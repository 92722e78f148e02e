"""A private, throwaway PostgreSQL cluster for tests: initdb into a temporary directory, ``pg_ctl start`` on
a free port with its unix socket in that directory, trust authentication on 127.0.0.1, stopped at the end.

The server refuses to run as root, so under root every server command runs as the ``postgres`` OS user
(``runuser -u postgres --``), which owns the directory. ``scripts/ensure-postgres`` installs the binaries
on a fresh machine.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVER_USER = "postgres"
ALLOW_SKIP_ENV = "JUDGEVAL_ALLOW_SKIP_POSTGRES"


def find_bindir() -> Path | None:
    """Where ``initdb`` lives: on PATH, else Debian's newest ``/usr/lib/postgresql/<major>/bin``."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running cluster; :meth:`new_database` gives each test its own empty database."""

    bindir: Path
    root: Path
    port: int

    @classmethod
    def start(cls, bindir: Path) -> PostgresCluster:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise RuntimeError(f"no '{SERVER_USER}' OS user to run PostgreSQL as (it refuses root); "
                                   "run scripts/ensure-postgres") from None
        root = Path(tempfile.mkdtemp(prefix="judgeval-pg-"))
        cluster = cls(bindir, root, _free_port())
        if os.geteuid() == 0:
            shutil.chown(root, SERVER_USER, SERVER_USER)
        cluster._run("initdb", "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-sync", "--no-instructions")
        options = (f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        cluster._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"), "-o", options,
                     "-w", "-t", "60", "start")
        return cluster

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its name."""
        name = f"judgeval_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a generated identifier, not user input
        return name

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()}\n{tail}")


def set_reachable(cluster: PostgresCluster, database: str, reachable: bool) -> None:
    """Refuse (or allow) new connections to ``database`` and cut the open ones: an outage for its clients."""
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(reachable).lower()}')
        if not reachable:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                          (database,))
