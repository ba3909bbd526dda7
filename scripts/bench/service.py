"""Topup run as production runs it, for the benchmark to drive from outside: the API under
uvicorn with one process per core, beside a separate ``topup worker`` process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_WITHIN_SECONDS = 60


@dataclass(frozen=True)
class ServiceOptions:
    database_url: str
    redis_url: str
    port: int
    api_processes: int
    supplier_latency_ms: int
    log_directory: Path
    log_label: str = ""  # names the run in the log files; the supplier latency by default


@dataclass(frozen=True)
class RunningService:
    base_url: str
    api: subprocess.Popen[bytes]  # the uvicorn supervisor; its children serve the requests
    worker: subprocess.Popen[bytes]


def topup_command() -> str:
    return str(Path(sys.executable).with_name("topup"))


def environment(options: ServiceOptions) -> dict[str, str]:
    return os.environ | {
        "TOPUP_ENV": "development",  # the sandbox gateway and the supplier simulator
        "TOPUP_DATABASE_URL": options.database_url,
        "TOPUP_REDIS_URL": options.redis_url,
        "TOPUP_RUN_WORKER": "false",  # the worker is its own process, as in production
        "TOPUP_SIMULATOR_LATENCY_MS": str(options.supplier_latency_ms),
        "TOPUP_LOG_LEVEL": "WARNING",
    }


def _wait_until_ready(base_url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a Topup process stopped while starting; see its log")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Topup was not ready within {READY_WITHIN_SECONDS} s")


@contextmanager
def running_service(options: ServiceOptions) -> Iterator[str]:
    """Start the API and the worker; yields the API's base URL and stops both after."""
    with started_service(options) as service:
        yield service.base_url


@contextmanager
def started_service(options: ServiceOptions) -> Iterator[RunningService]:
    """Start the API and the worker; yields both processes and stops them after."""
    variables = environment(options)
    options.log_directory.mkdir(parents=True, exist_ok=True)
    label = options.log_label or f"latency-{options.supplier_latency_ms}ms"
    commands = {
        "api": [
            topup_command(),
            "serve",
            "--port",
            str(options.port),
            "--workers",
            str(options.api_processes),
        ],
        "worker": [topup_command(), "worker"],
    }
    processes = []
    try:
        for name, command in commands.items():
            log = (options.log_directory / f"{name}-{label}.log").open("wb")
            processes.append(
                subprocess.Popen(command, env=variables, stdout=log, stderr=subprocess.STDOUT)
            )
        base_url = f"http://127.0.0.1:{options.port}"
        _wait_until_ready(base_url, processes)
        yield RunningService(base_url, api=processes[0], worker=processes[1])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
