"""``make bench``: how many top-ups per second one machine completes, how fast an order
answers, and how reads behave as the tables grow (README, "Speed").

It needs only a PostgreSQL server (and Redis, as the service does): every run works in
fresh databases of its own, dropped afterwards. In order, it

1. runs pgbench's TPC-B-like load on the idle server, as the yardstick;
2. makes the buyers (verified customers with a saved card and a bearer token) and counts
   the SQL statements and round trips of one top-up through the app, in this process;
3. starts Topup as production would run it (``topup serve`` with one process per core and
   a separate ``topup worker``), drives it from a load process at supplier latency 0 and
   2 s, and reads back from the database what completed and when;
4. fills a database with 10 million orders and their ledger entries for 100,000
   customers, and times the pages of "My purchases" and the balance reads there and at
   10,000 orders.

Usage: ``python -m scripts.bench [--database URL] [--seconds 20] [--rate 200] …``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.bench import report
from scripts.bench.accounts import make_buyers
from scripts.bench.database import fresh_database
from scripts.bench.lookups import write_script
from scripts.bench.pgbench import tpcb
from scripts.bench.prepare import add_server_arguments, prepared_runtime, write_buyers
from scripts.bench.run import Numbers, Plan, measure, say
from scripts.bench.service import ServiceOptions
from scripts.bench.statements import count_per_topup
from topup.kit.db import create_engine

LATENCIES_MS = (0, 2000)
COUNTED_TOPUPS = 50


async def service_figures(arguments: argparse.Namespace, work: Path) -> dict[str, Any]:
    async with fresh_database(arguments.database, "bench") as url:
        settings, runtime = await prepared_runtime(url, arguments.redis)
        say(f"making {arguments.customers} buyers")
        buyers = await make_buyers(runtime, arguments.customers)
        buyers_file = work / "buyers.json"
        write_buyers(buyers, buyers_file)
        wrk_script = work / "lookup.lua"
        await write_script(runtime, wrk_script)
        say("counting statements")
        statements = await count_per_topup(
            settings, runtime, buyers[: COUNTED_TOPUPS + 1], first_number=900_000
        )
        await runtime.close()

        plan = Plan(
            buyers_file, wrk_script, arguments.seconds, arguments.clients, arguments.rate, 10
        )
        numbers = Numbers(0)
        engine = create_engine(url)
        runs = []
        for latency in LATENCIES_MS:
            options = ServiceOptions(
                database_url=url,
                redis_url=arguments.redis,
                port=arguments.port,
                api_processes=arguments.api_processes,
                supplier_latency_ms=latency,
                log_directory=arguments.json.parent / "logs",
            )
            runs.append(await measure(engine, options, plan, numbers))
        await engine.dispose()
    return {"statements": statements, "runs": runs}


async def main(arguments: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "settings": {
            "customers": arguments.customers,
            "seconds": arguments.seconds,
            "clients": arguments.clients,
            "rate": arguments.rate,
            "api_processes": arguments.api_processes,
        },
    }
    say("pgbench")
    figures["pgbench"] = await tpcb(arguments.database)
    with tempfile.TemporaryDirectory() as work:
        figures |= await service_figures(arguments, Path(work))
    if arguments.scale_orders:
        from scripts.bench.scale import measure_scale

        figures["scale"] = [
            await measure_scale(arguments.database, orders=10_000, customers=1_000),
            await measure_scale(
                arguments.database,
                orders=arguments.scale_orders,
                customers=arguments.scale_customers,
            ),
        ]
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Topup's whole-service benchmark")
    add_server_arguments(parser)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=20, help="length of each load run")
    parser.add_argument("--clients", type=int, default=32, help="closed-loop clients")
    parser.add_argument("--rate", type=float, default=200, help="fixed offered orders/s")
    parser.add_argument("--api-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--scale-orders", type=int, default=10_000_000, help="0 skips the scale run"
    )
    parser.add_argument("--scale-customers", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=Path("bench-results/bench.json"))
    arguments = parser.parse_args()
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(main(arguments))
    arguments.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(report.table(result))
    print(f"\nFigures written to {arguments.json}")
