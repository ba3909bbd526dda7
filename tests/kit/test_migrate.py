"""Migrations on a fresh database of each backend: up to head, down to base, up again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.databases import BACKENDS, fresh_database
from topup.kit.db import create_engine
from topup.kit.migrate import alembic_config, is_up_to_date, migrations_directory, upgrade

CATALOGUE_TABLES = {"countries", "operators", "operator_prefixes", "products", "catalogue_state"}


@pytest.fixture(params=BACKENDS)
async def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    databases = fresh_database(request.param, tmp_path)
    engine = create_engine(await anext(databases))
    try:
        yield engine
    finally:
        await engine.dispose()
        await anext(databases, None)  # runs the generator on to its clean-up


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(table_names)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


def test_the_migrations_directory_is_found() -> None:
    directory = migrations_directory()

    assert (directory / "env.py").is_file()
    assert any((directory / "versions").glob("0001_*.py"))


async def test_an_empty_database_is_not_up_to_date(fresh_engine: AsyncEngine) -> None:
    assert await tables(fresh_engine) == set()
    assert not await is_up_to_date(fresh_engine)


async def test_upgrade_down_to_base_and_up_again(fresh_engine: AsyncEngine) -> None:
    await upgrade(fresh_engine)
    assert await is_up_to_date(fresh_engine)
    assert await tables(fresh_engine) >= CATALOGUE_TABLES

    await downgrade(fresh_engine, "base")
    assert await tables(fresh_engine) - {"alembic_version"} == set()
    assert not await is_up_to_date(fresh_engine)

    await upgrade(fresh_engine)
    assert await is_up_to_date(fresh_engine)
    assert await tables(fresh_engine) >= CATALOGUE_TABLES


async def test_upgrading_twice_changes_nothing(fresh_engine: AsyncEngine) -> None:
    await upgrade(fresh_engine)
    before = await tables(fresh_engine)

    await upgrade(fresh_engine)

    assert await tables(fresh_engine) == before
    assert await is_up_to_date(fresh_engine)
