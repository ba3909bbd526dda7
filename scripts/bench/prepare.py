"""A fresh benchmark database made ready the way production's is: migrated, with the shipped
catalogue and the shipped limits and fraud rules, and a runtime over it to make buyers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scripts.bench.accounts import Buyer
from topup.catalogue.service import load_catalogue, parse_catalogue
from topup.cli import SHIPPED_CATALOGUE
from topup.config import Environment, Settings
from topup.kit.db import create_engine, unit_of_work
from topup.kit.migrate import upgrade
from topup.risk.rules import load_defaults
from topup.runtime import Runtime, build_runtime


async def prepared_runtime(database_url: str, redis_url: str) -> tuple[Settings, Runtime]:
    """Migrates the database and loads what production loads; the caller closes the runtime."""
    engine = create_engine(database_url)
    await upgrade(engine)
    settings = Settings(
        env=Environment.development,
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
    )
    runtime = build_runtime(settings, engine)
    document = parse_catalogue(json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8")))
    async with unit_of_work(runtime.session_factory) as session:
        await load_catalogue(session, document)
        await load_defaults(session)  # the shipped limits and fraud rules, as in production
    return settings, runtime


def write_buyers(buyers: list[Buyer], path: Path) -> None:
    """The file the load process reads its buyers from."""
    path.write_text(json.dumps([buyer.as_dict() for buyer in buyers]), encoding="utf-8")


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The PostgreSQL server the run makes its databases on, and the Redis the service uses."""
    parser.add_argument(
        "--database",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL; the run makes and drops its own databases there",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
