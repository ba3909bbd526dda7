"""Micro-benchmark: what the risk checks cost when an order is placed.

Not a test: it measures, it does not judge. On a fresh database (a temporary SQLite file,
or the PostgreSQL server given with ``--database``) it places orders through
``place_order``, each in its own transaction as POST /v1/orders does, twice: first with no
risk rules loaded, then with the shipped ones (seven limits, a market rule, six fraud
signals, the lock rows). Every order has its own customer and number, so no limit refuses
one; both rounds do the same work but for the checks. Only placement is timed, not the
card authorization and delivery that follow.

Usage: ``python scripts/bench_orders.py [--orders 400] [--database URL] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from scripts.bench.accounts import buyer_row, visa_number
from scripts.bench.database import fresh_database
from topup.accounts.models import Customer
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.cli import SHIPPED_CATALOGUE
from topup.config import Environment, Settings
from topup.kit import clock
from topup.kit.db import create_engine, unit_of_work
from topup.kit.migrate import upgrade
from topup.orders.service import NewCard, PlaceOrder, place_order
from topup.providers.payments.base import CardDetails
from topup.risk.rules import load_defaults
from topup.runtime import Runtime, build_runtime


def card(index: int) -> CardDetails:
    """A distinct Visa number per buyer: one card on many accounts is a fraud signal that
    would block it, and that is not what this measures."""
    return CardDetails(visa_number(index), 12, clock.now().year + 1, "123")


async def customers(runtime: Runtime, count: int) -> list[Customer]:
    made = [buyer_row(index) for index in range(count)]
    async with unit_of_work(runtime.session_factory) as session:
        session.add_all(made)
    return made


async def place_all(runtime: Runtime, buyers: list[Customer], first_number: int) -> float:
    """Seconds to place one order per buyer, one after another."""
    snapshot = await runtime.catalogue.get()
    started = time.perf_counter()
    for index, buyer in enumerate(buyers):
        async with unit_of_work(runtime.session_factory) as session:
            await place_order(
                session,
                snapshot=snapshot,
                number_lookup=runtime.number_lookup,
                gateway=runtime.payment_gateway,
                customer=buyer,
                request=PlaceOrder(
                    # MTN Nigeria numbers ending in 7: never a simulator special case.
                    recipient_phone=f"+234803{(first_number + index) * 10 + 7:07d}",
                    product_id="ng-mtn-2500",
                    amount=None,
                    amount_currency=None,
                    card_id=None,
                    new_card=NewCard(card(first_number + index), save=False),
                    message=None,
                ),
            )
    return time.perf_counter() - started


async def main(orders: int, database: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        url = database or f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        engine = create_engine(url)
        await upgrade(engine)
        settings = Settings(env=Environment.test, database_url=url, run_worker=False)
        runtime = build_runtime(settings, engine)
        document = parse_catalogue(json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8")))
        async with unit_of_work(runtime.session_factory) as session:
            await load_catalogue(session, document)
        await place_all(runtime, await customers(runtime, 20), 100000)  # warm-up
        without = await place_all(runtime, await customers(runtime, orders), 200000)
        async with unit_of_work(runtime.session_factory) as session:
            await load_defaults(session)
        with_rules = await place_all(runtime, await customers(runtime, orders), 500000)
        await runtime.close()
    figures: dict[str, object] = {
        "database": make_url(url).get_backend_name(),
        "orders": orders,
        "without_rules_per_second": round(orders / without, 1),
        "with_rules_per_second": round(orders / with_rules, 1),
        "risk_ms_per_order": round((with_rules - without) / orders * 1000, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
    }
    print(json.dumps(figures, indent=1))
    return figures


async def run(orders: int, server_url: str | None) -> dict[str, object]:
    if server_url is None:
        return await main(orders, None)
    async with fresh_database(server_url, "orders") as url:
        return await main(orders, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--database", help="a PostgreSQL server URL (postgresql+asyncpg://…)")
    parser.add_argument("--json", type=Path, default=Path("bench-results/orders.json"))
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments.orders, arguments.database))
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
