"""Micro-benchmark: how many number lookups per second one process answers.

Not a test: it measures, it does not judge. It loads the shipped catalogue into a
temporary SQLite database, warms the in-memory snapshot, then times two loops over the
same mix of real mobile numbers from every served country:

- ``service``: ``look_up_number`` called directly (parsing, supplier simulator, prefixes);
- ``http``: ``GET /v1/lookup`` through the whole FastAPI app (middleware, routing,
  validation, serialisation), called in-process as an ASGI application. No HTTP client is
  in the loop: httpx's in-process transport costs more than the app itself, and a real
  server's figure belongs to the load benchmark that drives it from another process.

Usage: ``python scripts/bench_lookup.py [--seconds 5] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from starlette.types import ASGIApp, Message, Scope

from topup.app import create_app
from topup.catalogue.promotions import sync_promotions
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.cli import SHIPPED_CATALOGUE
from topup.config import Environment, Settings
from topup.kit.db import unit_of_work
from topup.kit.errors import InvalidInput
from topup.kit.migrate import upgrade
from topup.lookup.service import look_up_number
from topup.runtime import Runtime, build_runtime


def sample_numbers(runtime: Runtime, countries: list[str], count: int) -> list[str]:
    """Mobile numbers of the served countries that the lookup accepts."""
    generator = random.Random(20240615)  # the same mix on every run
    numbers: list[str] = []
    for iso2 in countries:
        example = phonenumbers.example_number_for_type(iso2, PhoneNumberType.MOBILE)
        if example is None:
            continue
        national = str(example.national_number)
        for _ in range(count):
            # Vary the subscriber digits; skip the simulator's special endings (0008, 0009).
            tail = f"{generator.randrange(1000, 9999)}"
            candidate = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}")
            if phonenumbers.is_valid_number(candidate):
                numbers.append(phonenumbers.format_number(candidate, PhoneNumberFormat.E164))
    return numbers


async def accepted(runtime: Runtime, numbers: list[str]) -> list[str]:
    snapshot = await runtime.catalogue.get()
    keep = []
    for number in numbers:
        try:
            await look_up_number(snapshot, runtime.number_lookup, phone=number)
        except InvalidInput:
            continue
        keep.append(number)
    return keep


async def asgi_get(app: ASGIApp, path: str, query: dict[str, str]) -> tuple[int, bytes]:
    """One GET straight into the ASGI app; returns the status and the body."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query).encode(),
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def rate(
    seconds: float, numbers: list[str], call: Callable[[str], Awaitable[object]]
) -> tuple[float, int]:
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for number in numbers:
            await call(number)
        done += len(numbers)
    return done / (time.perf_counter() - started), done


async def main(seconds: float, promotions: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            env=Environment.test,
            log_level="WARNING",
            database_url=f"sqlite+aiosqlite:///{directory}/bench.db",
        )
        runtime = build_runtime(settings)
        await upgrade(runtime.engine)
        document = parse_catalogue(json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8")))
        async with unit_of_work(runtime.session_factory) as session:
            await load_catalogue(session, document)
        if promotions:  # the simulator's running ones: every answer then follows windows
            await sync_promotions(runtime.promotion_sync_deps())
        snapshot = await runtime.catalogue.get()
        numbers = await accepted(runtime, sample_numbers(runtime, list(snapshot.countries), 5))

        async def service_call(number: str) -> object:
            return await look_up_number(snapshot, runtime.number_lookup, phone=number)

        service_rate, service_count = await rate(seconds, numbers, service_call)

        app = create_app(settings, runtime)
        async with app.router.lifespan_context(app):

            async def http_call(number: str) -> object:
                status, body = await asgi_get(app, "/v1/lookup", {"phone": number})
                assert status == 200, body
                return body

            http_rate, http_count = await rate(seconds, numbers, http_call)
        await runtime.close()

    figures = {
        "numbers_in_mix": len(numbers),
        "countries_in_mix": len(
            {phonenumbers.region_code_for_number(phonenumbers.parse(n)) for n in numbers}
        ),
        "operators_with_promotions": len(snapshot.promotions_by_operator),
        "service_lookups_per_second": round(service_rate),
        "service_lookups_timed": service_count,
        "http_lookups_per_second": round(http_rate),
        "http_lookups_timed": http_count,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
    }
    print(f"{'lookup path':<46}{'lookups/s':>12}")
    print(f"{'look_up_number (service, in-process)':<46}{service_rate:>12,.0f}")
    print(f"{'GET /v1/lookup (whole app, in-process ASGI)':<46}{http_rate:>12,.0f}")
    print(
        f"mix: {figures['numbers_in_mix']} numbers from {figures['countries_in_mix']} "
        f"countries; machine: {figures['machine']}"
    )
    return figures


def write_json(figures: dict[str, object], json_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per loop")
    parser.add_argument("--json", type=Path, default=Path("bench-results/lookup.json"))
    parser.add_argument(
        "--promotions", action="store_true", help="with the simulator's operator promotions"
    )
    arguments = parser.parse_args()
    write_json(asyncio.run(main(arguments.seconds, arguments.promotions)), arguments.json)
