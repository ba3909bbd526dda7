"""``GET /v1/lookup`` requests per second, driven by wrk from its own process over a mix
of real mobile numbers from every served country."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from scripts.bench_lookup import accepted, sample_numbers
from topup.runtime import Runtime

_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_NOT_OK = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


async def write_script(runtime: Runtime, path: Path) -> int:
    """A wrk script that asks for each number of the mix in turn; returns how many."""
    snapshot = await runtime.catalogue.get()
    numbers = await accepted(runtime, sample_numbers(runtime, list(snapshot.countries), 5))
    paths = ",\n".join(f'  "/v1/lookup?phone={quote(number)}"' for number in numbers)
    await asyncio.to_thread(
        path.write_text,
        f"local paths = {{\n{paths}\n}}\n"
        "local next = 0\n"
        "request = function()\n"
        "  next = next % #paths + 1\n"
        '  return wrk.format("GET", paths[next])\n'
        "end\n",
        encoding="utf-8",
    )
    return len(numbers)


def run_wrk(
    base_url: str, script: Path, *, seconds: int, connections: int = 64
) -> dict[str, object]:
    program = shutil.which("wrk")
    if program is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    # One wrk thread: the service's processes need both cores far more than wrk does.
    run = subprocess.run(
        [
            program,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            base_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    found = _RATE.search(run.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{run.stdout}")
    not_ok = _NOT_OK.search(run.stdout)
    errors = _ERRORS.search(run.stdout)
    latency = {
        f"p{share}_ms": round(float(value) * _UNIT_MS[unit], 2)
        for share, value, unit in _PERCENTILE.findall(run.stdout)
    }
    return {
        "requests_per_second": round(float(found.group(1))),
        **latency,
        "non_2xx": int(not_ok.group(1)) if not_ok else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "connections": connections,
    }
