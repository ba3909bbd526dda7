"""``make bench-profile``: where the time of one top-up goes, by pyinstrument.

The same path the statement count takes (``POST /v1/orders`` through the app in this
process, the fast path, then worker rounds), on a fresh PostgreSQL database, sampled
with pyinstrument; prints the call tree and writes it as HTML beside the figures.

Usage: ``python -m scripts.bench.profile [--database URL] [--orders 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from pyinstrument import Profiler

from scripts.bench.accounts import make_buyers
from scripts.bench.database import fresh_database
from scripts.bench.statements import buying
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.cli import SHIPPED_CATALOGUE
from topup.config import Environment, Settings
from topup.kit.db import create_engine, unit_of_work
from topup.kit.migrate import upgrade
from topup.risk.rules import load_defaults
from topup.runtime import build_runtime


async def main(arguments: argparse.Namespace) -> Profiler:
    async with fresh_database(arguments.database, "profile") as url:
        engine = create_engine(url)
        await upgrade(engine)
        settings = Settings(env=Environment.development, database_url=url, log_level="WARNING")
        runtime = build_runtime(settings, engine)
        document = parse_catalogue(json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8")))
        async with unit_of_work(runtime.session_factory) as session:
            await load_catalogue(session, document)
            await load_defaults(session)
        buyers = await make_buyers(runtime, arguments.orders + 1)
        profiler = Profiler(async_mode="enabled")
        async with buying(settings, runtime) as buy:
            await buy(buyers[0], 800_000)  # warm-up
        async with buying(settings, runtime) as buy:
            profiler.start()
            for offset, buyer in enumerate(buyers[1:], start=1):
                await buy(buyer, 800_000 + offset)
        profiler.stop()  # after the worker rounds that send the receipts
        await runtime.close()
    return profiler


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Profile Topup's top-up path")
    parser.add_argument(
        "--database", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--html", type=Path, default=Path("bench-results/profile.html"))
    parsed = parser.parse_args()
    result = asyncio.run(main(parsed))
    parsed.html.parent.mkdir(parents=True, exist_ok=True)
    parsed.html.write_text(result.output_html(), encoding="utf-8")
    print(result.output_text(unicode=True, color=False, show_all=False))
