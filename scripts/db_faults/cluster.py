"""A private PostgreSQL cluster for one run: initdb into a temporary folder, served on a
free loopback port with trust authentication, so restarting it touches no other test's
server. PostgreSQL refuses to run as root, so every command runs as the ``postgres`` user."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return Path(found[-1]).parent


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name.split(".")[0])


class PrivateCluster:
    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="topup-db-faults-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgresql.log"
        self._bin = _binaries()
        shutil.chown(self.directory, SERVER_USER, SERVER_USER)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *arguments: str, timeout: float = 60) -> None:
        command = ["runuser", "-u", SERVER_USER, "--", str(self._bin / arguments[0])]
        subprocess.run(
            [*command, *arguments[1:]],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
        )

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-o",
            options,
            *extra,
        )

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self._pg_ctl("start")

    def restart_immediately(self) -> None:
        """As a crash would: every backend killed, recovery from the WAL on start."""
        self._pg_ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._pg_ctl("start")

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def usable() -> bool:
    """Root (to switch to the postgres user), the user itself, and the server binaries."""
    try:
        _binaries()
    except RuntimeError:
        return False
    return os.geteuid() == 0 and shutil.which("runuser") is not None
