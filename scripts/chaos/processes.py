"""The processes under test: `topup serve` (the API, no worker inside) and two `topup
worker`s, each started, killed with SIGKILL and restarted by the harness. Each process has
a queue of recovery points and is started armed with the first (``TOPUP_FAULT_AT`` with
``TOPUP_FAULT_KILL=1``): it kills itself when it passes that point, says so on its last log
line, and is started again armed with the next one. One point at a time, so each point
has its own window and a death is never owed to an earlier point passed by chance."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.fixtures.services import TOPUP
from topup.kit.faults import KILLED_AT

API, WORKERS = "api", ("worker-1", "worker-2")
READY_WITHIN_SECONDS = 60.0


@dataclass
class Managed:
    """One named process and every run of it so far (one log file per run)."""

    name: str
    command: list[str]
    log_directory: Path
    armed: list[str] = field(default_factory=list)  # the queue; only the first is armed
    runs: int = 0
    popen: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.log_directory / f"{self.name}-{self.runs}.log"

    def start(self, environment: dict[str, str]) -> None:
        self.runs += 1
        armed = {"TOPUP_FAULT_AT": self.armed[0], "TOPUP_FAULT_KILL": "1"} if self.armed else {}
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [str(TOPUP), *self.command],
                env=environment | armed,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def point_of_death(self) -> str | None:
        """The recovery point this run killed itself at, from its last log line."""
        if self.exited() != -signal.SIGKILL:
            return None
        lines = self.log_path.read_text(errors="replace").splitlines()
        for line in reversed(lines[-5:]):
            if line.startswith(KILLED_AT):
                return line.removeprefix(KILLED_AT).strip()
        return None

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)


class Fleet:
    """The API and the workers, with what a run needs: kill, restart, stop."""

    def __init__(self, environment: dict[str, str], port: int, log_directory: Path) -> None:
        self.environment = environment
        self.base_url = f"http://127.0.0.1:{port}"
        log_directory.mkdir(parents=True, exist_ok=True)
        self.processes = {API: Managed(API, ["serve", "--port", str(port)], log_directory)}
        for name in WORKERS:
            self.processes[name] = Managed(name, ["worker"], log_directory)

    async def start(self, name: str) -> None:
        self.processes[name].start(self.environment)
        if name == API:
            await self.wait_until_ready()

    async def start_all(self) -> None:
        for name in self.processes:
            await self.start(name)

    async def restart(self, name: str, *, armed: list[str] | None = None) -> None:
        """SIGKILL (if still alive) and start again, with the queue ``armed`` if given."""
        process = self.processes[name]
        process.kill()
        if armed is not None:
            process.armed = list(armed)
        await self.start(name)

    async def wait_until_ready(self) -> None:
        api = self.processes[API]
        deadline = asyncio.get_running_loop().time() + READY_WITHIN_SECONDS
        async with httpx.AsyncClient(timeout=1.0) as http:
            while asyncio.get_running_loop().time() < deadline:
                if api.exited() is not None:
                    return  # died while starting (an armed point can be that early)
                try:
                    if (await http.get(f"{self.base_url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the API was not ready within {READY_WITHIN_SECONDS:.0f} s")

    def stop_all(self) -> None:
        """SIGTERM first (a clean stop), SIGKILL for anything that hangs."""
        for process in self.processes.values():
            if process.popen is not None and process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes.values():
            if process.popen is None:
                continue
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
