"""``make soak``: minutes of orders and reads at half the service's measured maximum.

In a fresh PostgreSQL database, with the shipped catalogue and risk rules, it

1. makes buyers (verified customers with a saved card) and a mix of ordinary recipients
   (ranges of new numbers in several countries, each with a product of its operator);
2. starts Topup as production runs it (``topup serve`` with one process per core, and a
   separate ``topup worker``);
3. unless ``--rate`` is given, measures the maximum with a short closed loop (completed
   top-ups a second, read back from the database) and takes half of it;
4. runs the soak load (``scripts.bench.soak.load``, its own process) for ``--minutes``,
   reading the RSS of every Topup process and the database's size every few seconds;
5. waits for the orders in flight, reads back what each minute's orders became, runs
   ``topup ledger check``, and computes the verdicts.

It prints a table, writes ``bench-results/soak.json``, and exits 1 when a verdict fails.
Usage: ``python -m scripts.bench.soak [--minutes 10] [--rate R] [--supplier-latency-ms 0] …``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.bench import report
from scripts.bench.accounts import make_buyers
from scripts.bench.database import fresh_database
from scripts.bench.figures import latency_summary
from scripts.bench.prepare import add_server_arguments, prepared_runtime, write_buyers
from scripts.bench.recipients import recipient_mix, write_mix
from scripts.bench.run import Numbers, completed_per_second, drain, run_load, say, scalar
from scripts.bench.service import (
    RunningService,
    ServiceOptions,
    environment,
    started_service,
    topup_command,
)
from scripts.bench.soak import memory, verdicts
from scripts.bench.soak.report import table
from topup.kit.db import create_engine
from topup.runtime import Runtime

MIX_SIZE = 6
MEASURING_BUYERS = 1000
ORDERS_PER_BUYER = 4  # under the shipped rules' 5 recipients a day (many_recipients)
SAMPLE_SECONDS = 10
WARM_UP_SECONDS = 60


async def _buyers(runtime: Runtime, count: int, first: int, path: Path) -> int:
    say(f"making {count} buyers")
    write_buyers(await make_buyers(runtime, count, first), path)
    return count


async def _maximum(
    engine: AsyncEngine,
    service: RunningService,
    files: dict[str, Path],
    numbers: Numbers,
    arguments: argparse.Namespace,
) -> dict[str, Any]:
    """Completed top-ups a second with clients sending orders back to back."""
    say(f"measuring the maximum: {arguments.max_seconds} s closed loop")
    shape = {"shape": "closed", "clients": arguments.clients, "mix": files["mix"]}
    closed = await asyncio.to_thread(
        run_load,
        service.base_url,
        files["measuring"],
        numbers.next,
        seconds=arguments.max_seconds,
        **shape,
    )
    numbers.take(closed["sent"])
    done = await completed_per_second(engine, closed["started_at"], closed["ended_at"])
    await drain(engine)
    return {
        "completed_per_second": done,
        "seconds": arguments.max_seconds,
        "clients": arguments.clients,
        "accepted_per_second": closed["accepted_per_second"],
    }


async def _sample(engine: AsyncEngine, processes: dict[str, int]) -> dict[str, Any]:
    size = await scalar(engine, "SELECT pg_database_size(current_database())")
    return {"at": datetime.now(UTC), "rss_kib": memory.sample(processes), "database_bytes": size}


async def _soak_load(
    engine: AsyncEngine,
    service: RunningService,
    files: dict[str, Path],
    first_number: int,
    rate: float,
    arguments: argparse.Namespace,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """Runs the load process, reading memory and size meanwhile; returns its figures, the
    samples (in seconds since the load started), and any change of the Topup processes."""
    processes = memory.topup_processes(service.api.pid, service.worker.pid)
    command = [
        sys.executable, "-m", "scripts.bench.soak.load", "--base-url", service.base_url,
        "--buyers", str(files["soaking"]), "--mix", str(files["mix"]),
        "--output", str(files["output"]), "--minutes", str(arguments.minutes),
        "--rate", str(rate), "--reads-per-order", str(arguments.reads_per_order),
        "--first-number", str(first_number),
    ]  # fmt: skip
    say(f"soaking {arguments.minutes} min at {rate:g} orders/s; processes {processes}")
    load = await asyncio.create_subprocess_exec(*command)
    samples = []
    while load.returncode is None:
        samples.append(await _sample(engine, processes))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(load.wait(), timeout=SAMPLE_SECONDS)
    samples.append(await _sample(engine, processes))
    if load.returncode != 0:
        raise RuntimeError(f"the soak load stopped with exit code {load.returncode}")
    figures: dict[str, Any] = json.loads(files["output"].read_text(encoding="utf-8"))
    started = datetime.fromisoformat(figures["started_at"])
    for one in samples:
        one["seconds"] = (one.pop("at") - started).total_seconds()
    after = memory.topup_processes(service.api.pid, service.worker.pid)
    return figures, samples, memory.changes(processes, after)


async def _orders(engine: AsyncEngine, started: str) -> list[Any]:
    """Each order made since the soak started: id, status, its minute, the minute it last
    changed in, and created → last change in ms."""
    query = text(
        "SELECT id, status, floor(EXTRACT(EPOCH FROM created_at - :started) / 60), "
        "floor(EXTRACT(EPOCH FROM updated_at - :started) / 60), "
        "EXTRACT(EPOCH FROM updated_at - created_at) * 1000 "
        "FROM orders WHERE created_at >= :started"
    )
    async with engine.connect() as connection:
        rows = await connection.execute(query, {"started": datetime.fromisoformat(started)})
        return list(rows)


def _at_end_of(samples: list[dict[str, Any]], minute: int, read: Any) -> float | None:
    within = [one for one in samples if one["seconds"] <= (minute + 1) * 60]
    return read(within[-1]) if within else None


def _minutes(load: dict[str, Any], rows: list[Any], samples: list[dict[str, Any]]) -> list[Any]:
    minutes = []
    for minute, window in enumerate(load["windows"]):
        succeeded = [row for row in rows if row[1] == "succeeded"]
        settled = [float(row[4]) for row in succeeded if int(row[2]) == minute]
        minutes.append(
            {key: value for key, value in window.items() if key != "latencies_ms"}
            | {
                "minute": minute + 1,
                "succeeded": sum(1 for row in succeeded if int(row[3]) == minute),
                "created_to_succeeded": latency_summary(settled),
                "rss_mib": _at_end_of(
                    samples, minute, lambda one: sum(v or 0 for v in one["rss_kib"].values()) / 1024
                ),
                "database_mib": _at_end_of(
                    samples, minute, lambda one: one["database_bytes"] / 2**20
                ),
            }
        )
    return minutes


def _ledger_check(options: ServiceOptions) -> verdicts.Verdict:
    say("topup ledger check")
    checked = subprocess.run(
        [topup_command(), "ledger", "check"], env=environment(options),
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return verdicts.ledger(checked.returncode, checked.stdout + checked.stderr)


def _verdicts(
    arguments: argparse.Namespace,
    load: dict[str, Any],
    rows: list[Any],
    samples: list[dict[str, Any]],
    changes: list[str],
    ledger: verdicts.Verdict,
) -> tuple[list[verdicts.Verdict], dict[str, Any]]:
    errors: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for window in load["windows"]:
        errors.update(window["errors"])
        statuses.update(window["statuses"])
    labels = sorted({label for one in samples for label in one["rss_kib"]})
    memories = {
        label: verdicts.memory_of(
            [(one["seconds"], one["rss_kib"][label]) for one in samples
             if one["rss_kib"].get(label) is not None],
            WARM_UP_SECONDS,
        )
        for label in labels
    }  # fmt: skip
    status_of = {row[0]: row[1] for row in rows}
    judged = [verdicts.errors(errors), verdicts.only_2xx(statuses)]
    judged += [verdicts.memory_flat(memories, arguments.rss_growth_percent)]
    judged += [verdicts.same_processes(changes)]
    p99s = {}
    for kind, what in (("post", "POST /v1/orders"), ("get", "GET reads")):
        windows_ms = [window["latencies_ms"][kind] for window in load["windows"]]
        verdict, first, last = verdicts.p99_flat(windows_ms, 1, arguments.p99_factor, what)
        judged.append(verdict)
        p99s[kind] = {"first_ms": first, "last_ms": last}
    judged += [verdicts.all_final(load["placed"], status_of)]
    judged += [verdicts.all_succeeded(load["placed"], status_of), ledger]
    totals = {
        "errors": dict(errors),
        "statuses": dict(statuses),
        "orders_placed": len(load["placed"]),
        "outcomes": dict(Counter(status_of.values())),
        "p99_first_last": p99s,
    }
    memory_figures = {label: m.as_dict() if m else None for label, m in memories.items()}
    return judged, {"totals": totals, "memory": memory_figures}


async def soak(arguments: argparse.Namespace, work: Path) -> dict[str, Any]:
    files = {name: work / f"{name}.json" for name in ("mix", "measuring", "soaking", "output")}
    async with fresh_database(arguments.database, "soak") as url:
        _, runtime = await prepared_runtime(url, arguments.redis)
        mix = await recipient_mix(runtime, MIX_SIZE)
        write_mix(mix, files["mix"])
        made = await _buyers(runtime, MEASURING_BUYERS, 0, files["measuring"])
        engine = create_engine(url)
        options = ServiceOptions(
            database_url=url, redis_url=arguments.redis, port=arguments.port,
            api_processes=arguments.api_processes,
            supplier_latency_ms=arguments.supplier_latency_ms,
            log_directory=arguments.json.parent / "logs", log_label="soak",
        )  # fmt: skip
        try:
            with started_service(options) as service:
                numbers = Numbers(0)
                say("warming up")
                warm = await asyncio.to_thread(
                    run_load, service.base_url, files["measuring"], numbers.next,
                    shape="closed", seconds=3, clients=arguments.clients, mix=files["mix"],
                )  # fmt: skip
                numbers.take(warm["sent"])
                await drain(engine)
                maximum = None
                rate = arguments.rate
                if rate is None:
                    maximum = await _maximum(engine, service, files, numbers, arguments)
                    rate = maximum["completed_per_second"] / 2
                orders = math.ceil(rate * 60 * arguments.minutes)
                made += await _buyers(
                    runtime, math.ceil(orders / ORDERS_PER_BUYER) + 1, made, files["soaking"]
                )
                load, samples, changes = await _soak_load(
                    engine, service, files, numbers.next, rate, arguments
                )
                left_waiting = await drain(engine)
                rows = await _orders(engine, load["started_at"])
            ledger = _ledger_check(options)
        finally:
            await runtime.close()
            await engine.dispose()
    judged, figures = _verdicts(arguments, load, rows, samples, changes, ledger)
    return figures | {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "settings": {
            "minutes": arguments.minutes,
            "rate": round(rate, 2),
            "reads_per_second": round(load["reads_per_second"], 2),
            "supplier_latency_ms": arguments.supplier_latency_ms,
            "api_processes": arguments.api_processes,
            "buyers": made,
            "warm_up_seconds": WARM_UP_SECONDS,
            "rss_growth_percent": arguments.rss_growth_percent,
            "p99_factor": arguments.p99_factor,
        },
        "maximum": maximum,
        "mix": [f"{recipients.prefix}… {recipients.product_id}" for recipients in mix],
        "left_waiting_after_drain": left_waiting,
        "minutes": _minutes(load, rows, samples),
        "samples": samples,
        "verdicts": [verdict.as_dict() for verdict in judged],
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Topup's soak: minutes at half the maximum")
    add_server_arguments(parser)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument(
        "--rate", type=float, help="orders/s; half the measured maximum when not given"
    )
    parser.add_argument("--max-seconds", type=int, default=30, help="the closed loop's length")
    parser.add_argument("--clients", type=int, default=32, help="closed-loop clients")
    parser.add_argument("--reads-per-order", type=float, default=1.0)
    parser.add_argument("--supplier-latency-ms", type=int, default=0)
    parser.add_argument("--api-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--rss-growth-percent", type=float, default=10.0)
    parser.add_argument("--p99-factor", type=float, default=2.0)
    parser.add_argument("--json", type=Path, default=Path("bench-results/soak.json"))
    return parser.parse_args()


if __name__ == "__main__":
    parsed = _arguments()
    parsed.json.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        result = asyncio.run(soak(parsed, Path(directory)))
    parsed.json.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    print(table(result))
    print(f"\nFigures written to {parsed.json}")
    sys.exit(1 if any(verdict["passed"] is False for verdict in result["verdicts"]) else 0)
