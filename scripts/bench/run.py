"""One service run of the benchmark: Topup started as in production at one supplier latency,
loaded from a separate process, and what completed read back from the database."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.bench.figures import latency_summary
from scripts.bench.lookups import run_wrk
from scripts.bench.service import ServiceOptions, running_service

STARTED = time.monotonic()


def say(what: str) -> None:
    """Progress on stderr, so a long run shows where it is."""
    print(f"[{time.monotonic() - STARTED:7.1f} s] {what}", file=sys.stderr, flush=True)


WAITING = ("created", "authorized", "submitted", "pending")
DRAIN_SECONDS = 120


@dataclass(frozen=True)
class Plan:
    buyers_file: Path
    wrk_script: Path
    seconds: int
    clients: int
    rate: float
    lookup_seconds: int


class Numbers:
    """Each load run starts its recipients past the last one's, so every number is new."""

    def __init__(self, start: int) -> None:
        self.next = start

    def take(self, count: int) -> int:
        first, self.next = self.next, self.next + count
        return first


def run_load(base_url: str, buyers_file: Path, first_number: int, **shape: Any) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "scripts.bench.load",
        "--base-url",
        base_url,
        "--buyers",
        str(buyers_file),
        "--first-number",
        str(first_number),
    ]
    for name, value in shape.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


async def scalar(engine: AsyncEngine, sql: str, **parameters: object) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), parameters)).scalar_one()


async def waiting_orders(engine: AsyncEngine) -> int:
    """Orders placed and not yet at an end: the ones in flight."""
    waiting = await scalar(
        engine,
        "SELECT count(*) FROM orders WHERE status IN ("
        + ", ".join(f"'{status}'" for status in WAITING)
        + ")",
    )
    return int(waiting)


async def drain(engine: AsyncEngine) -> int:
    """Wait until no order is left on its way; returns how many still were at the end."""
    say("waiting for the orders in flight")
    deadline = time.monotonic() + DRAIN_SECONDS
    waiting = 0
    while time.monotonic() < deadline:
        waiting = await waiting_orders(engine)
        if waiting == 0:
            break
        await asyncio.sleep(0.5)
    return int(waiting)


async def _created_between(
    engine: AsyncEngine, columns: str, started: str, ended: str, tail: str = ""
) -> list[Any]:
    """``columns`` of the orders created in a load run, by the times the load reported."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                f"SELECT {columns} FROM orders WHERE created_at >= :started "
                f"AND created_at <= :ended {tail}"
            ),
            {"started": datetime.fromisoformat(started), "ended": datetime.fromisoformat(ended)},
        )
        return list(rows)


async def _outcomes(engine: AsyncEngine, started: str, ended: str) -> dict[str, int]:
    rows = await _created_between(engine, "status, count(*)", started, ended, "GROUP BY status")
    return {status: int(count) for status, count in rows}


async def completed_per_second(engine: AsyncEngine, started: str, ended: str) -> float:
    begin, end = datetime.fromisoformat(started), datetime.fromisoformat(ended)
    done = await scalar(
        engine,
        "SELECT count(*) FROM orders WHERE status = 'succeeded' "
        "AND updated_at >= :begin AND updated_at <= :end",
        begin=begin,
        end=end,
    )
    return round(int(done) / (end - begin).total_seconds(), 1)


async def _created_to_succeeded(engine: AsyncEngine, started: str, ended: str) -> dict[str, Any]:
    rows = await _created_between(
        engine,
        "EXTRACT(EPOCH FROM updated_at - created_at) * 1000",
        started,
        ended,
        "AND status = 'succeeded'",
    )
    return latency_summary([float(milliseconds) for (milliseconds,) in rows])


async def _in_flight_peak(engine: AsyncEngine, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        waiting = await waiting_orders(engine)
        peak = max(peak, int(waiting))
        await asyncio.sleep(0.5)
    return peak


async def measure(
    engine: AsyncEngine, options: ServiceOptions, plan: Plan, numbers: Numbers
) -> dict[str, Any]:
    figures: dict[str, Any] = {"supplier_latency_ms": options.supplier_latency_ms}
    with running_service(options) as base_url:
        say(f"latency {options.supplier_latency_ms} ms: warming up")
        # Warm every API process (caches, prepared statements) before anything is timed.
        await asyncio.to_thread(
            run_load,
            base_url,
            plan.buyers_file,
            numbers.take(10_000),
            shape="closed",
            seconds=3,
            clients=plan.clients,
        )
        await drain(engine)

        say(f"latency {options.supplier_latency_ms} ms: throughput, closed loop")
        # Throughput: clients send orders back to back.
        stop = asyncio.Event()
        peak = asyncio.create_task(_in_flight_peak(engine, stop))
        throughput = await asyncio.to_thread(
            run_load,
            base_url,
            plan.buyers_file,
            numbers.take(100_000),
            shape="closed",
            seconds=plan.seconds,
            clients=plan.clients,
        )
        stop.set()
        figures["throughput"] = throughput | {
            "completed_per_second": await completed_per_second(
                engine, throughput["started_at"], throughput["ended_at"]
            ),
            "in_flight_peak": await peak,
            "left_waiting_after_drain": await drain(engine),
            "outcomes": await _outcomes(engine, throughput["started_at"], throughput["ended_at"]),
        }

        say(f"latency {options.supplier_latency_ms} ms: fixed offered rate")
        # Latency at a fixed offered rate.
        fixed = await asyncio.to_thread(
            run_load,
            base_url,
            plan.buyers_file,
            numbers.take(100_000),
            shape="open",
            seconds=plan.seconds,
            rate=plan.rate,
        )
        figures["fixed_rate"] = fixed | {
            "left_waiting_after_drain": await drain(engine),
            "created_to_succeeded": await _created_to_succeeded(
                engine, fixed["started_at"], fixed["ended_at"]
            ),
            "outcomes": await _outcomes(engine, fixed["started_at"], fixed["ended_at"]),
        }

        say(f"latency {options.supplier_latency_ms} ms: lookups")
        # Lookups alone, then beside a stream of orders that wait on the supplier: with
        # non-blocking I/O the waiting orders cost the lookups nothing but the CPU their
        # own steps take.
        figures["lookup"] = await asyncio.to_thread(
            run_wrk, base_url, plan.wrk_script, seconds=plan.lookup_seconds
        )
        figures["lookup_beside_orders"] = await _lookups_beside_orders(
            engine, base_url, plan, numbers
        )
    return figures


async def _lookups_beside_orders(
    engine: AsyncEngine, base_url: str, plan: Plan, numbers: Numbers
) -> dict[str, Any]:
    """wrk on GET /v1/lookup while orders arrive at half the fixed rate, started once the
    first orders are waiting on the supplier."""
    stop = asyncio.Event()
    peak = asyncio.create_task(_in_flight_peak(engine, stop))
    orders = asyncio.create_task(
        asyncio.to_thread(
            run_load,
            base_url,
            plan.buyers_file,
            numbers.take(100_000),
            shape="open",
            seconds=plan.lookup_seconds + 4,
            rate=plan.rate / 2,
        )
    )
    await asyncio.sleep(2)
    lookups = await asyncio.to_thread(
        run_wrk, base_url, plan.wrk_script, seconds=plan.lookup_seconds
    )
    placed = await orders
    stop.set()
    await drain(engine)
    return lookups | {
        "orders_per_second_beside": placed["accepted_per_second"],
        "orders_in_flight_peak": await peak,
    }
