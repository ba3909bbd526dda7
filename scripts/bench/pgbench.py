"""PostgreSQL's own yardstick on the same server: pgbench's TPC-B-like transactions per
second (``pgbench -i -s 10``, then ``-c 8 -j 2 -T 20``), in a database of its own."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess

from sqlalchemy.engine import make_url

from scripts.bench.database import fresh_database

_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)


def _connection_arguments(url: str) -> list[str]:
    parsed = make_url(url)
    arguments = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    if parsed.username:
        arguments += ["-U", parsed.username]
    return arguments


async def tpcb(
    server_url: str, *, scale: int = 10, clients: int = 8, threads: int = 2, seconds: int = 20
) -> dict[str, object]:
    program = shutil.which("pgbench")
    if program is None:
        raise RuntimeError("pgbench is not installed (Debian: apt-get install postgresql-client)")
    async with fresh_database(server_url, "pgbench") as url:
        connection = [*_connection_arguments(url), make_url(url).database or ""]
        environment = os.environ | {"PGPASSWORD": make_url(url).password or ""}
        await asyncio.to_thread(
            subprocess.run,
            [program, "-i", "-s", str(scale), "-q", *connection],
            check=True,
            capture_output=True,
            env=environment,
        )
        run = await asyncio.to_thread(
            subprocess.run,
            [program, "-c", str(clients), "-j", str(threads), "-T", str(seconds), *connection],
            check=True,
            capture_output=True,
            text=True,
            env=environment,
        )
    found = _TPS.search(run.stdout)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps:\n{run.stdout}")
    return {
        "command": f"pgbench -i -s {scale}; pgbench -c {clients} -j {threads} -T {seconds}",
        "tps": round(float(found.group(1)), 1),
    }
