"""The database kit on both backends: unit of work, foreign keys, UTC times, exact decimals."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from topup.catalogue.models import Operator
from topup.kit.db import create_engine, create_session_factory, unit_of_work
from topup.kit.types import DecimalText, UTCDateTime


class Boom(Exception):
    pass


@pytest.fixture
async def scratch(engine: AsyncEngine) -> AsyncIterator[Table]:
    """A throw-away table with Topup's column types; dropped after the test."""
    table = Table(
        f"scratch_{secrets.token_hex(4)}",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("label", String(40)),
        Column("at", UTCDateTime, nullable=True),
        Column("rate", DecimalText, nullable=True),
    )
    async with engine.begin() as connection:
        await connection.run_sync(table.create)
    yield table
    async with engine.begin() as connection:
        await connection.run_sync(table.drop)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def stored(engine: AsyncEngine, table: Table, column: str, row_id: int = 1) -> Any:
    async with engine.connect() as connection:
        return await connection.scalar(select(table.c[column]).where(table.c.id == row_id))


async def test_a_unit_of_work_commits_when_the_block_ends(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], scratch: Table
) -> None:
    async with unit_of_work(sessions) as session:
        await session.execute(insert(scratch).values(id=1, label="kept"))

    assert await stored(engine, scratch, "label") == "kept"


async def test_a_unit_of_work_rolls_back_on_an_exception(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], scratch: Table
) -> None:
    async def write_then_fail() -> None:
        async with unit_of_work(sessions) as session:
            await session.execute(insert(scratch).values(id=1, label="lost"))
            await session.flush()
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()

    assert await stored(engine, scratch, "label") is None


async def test_foreign_keys_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    orphan = Operator(
        id=f"zz-orphan-{secrets.token_hex(3)}",
        country_iso2="ZZ",
        name="Nobody",
        balance_check_code=None,
        fx_rate=Decimal(1),
        position=0,
        enabled=True,
    )

    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as session:
            session.add(orphan)

    async with sessions() as session:
        assert await session.get(Operator, orphan.id) is None


async def test_every_sqlite_connection_switches_foreign_keys_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            foreign_keys = await connection.exec_driver_sql("PRAGMA foreign_keys")
            assert foreign_keys.scalar() == 1
            journal_mode = await connection.exec_driver_sql("PRAGMA journal_mode")
            assert journal_mode.scalar() == "wal"
    finally:
        await engine.dispose()


async def test_a_naive_datetime_is_refused(
    sessions: async_sessionmaker[AsyncSession], scratch: Table
) -> None:
    with pytest.raises(StatementError, match="naive datetime") as raised:
        async with unit_of_work(sessions) as session:
            await session.execute(insert(scratch).values(id=1, at=datetime(2024, 6, 15, 12)))

    assert isinstance(raised.value.orig, ValueError)


async def test_times_come_back_aware_in_utc(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], scratch: Table
) -> None:
    lagos = timezone(timedelta(hours=1))
    written = datetime(2024, 6, 15, 13, 30, 5, 123456, tzinfo=lagos)
    async with unit_of_work(sessions) as session:
        await session.execute(insert(scratch).values(id=1, at=written))

    read = await stored(engine, scratch, "at")

    assert read == written
    assert read.tzinfo is UTC
    assert (read.hour, read.minute, read.microsecond) == (12, 30, 123456)


def test_utc_datetime_reads_naive_values_as_utc() -> None:
    column = UTCDateTime()
    dialect = create_engine("sqlite+aiosqlite://").dialect
    read = column.process_result_value(datetime(2024, 6, 15, 12), dialect)

    assert read == datetime(2024, 6, 15, 12, tzinfo=UTC)
    assert read is not None
    assert read.tzinfo is UTC
    assert column.process_result_value(None, dialect) is None
    assert column.process_bind_param(None, dialect) is None


async def test_a_float_is_refused_by_decimal_text(
    sessions: async_sessionmaker[AsyncSession], scratch: Table
) -> None:
    with pytest.raises(StatementError, match="never a float") as raised:
        async with unit_of_work(sessions) as session:
            await session.execute(insert(scratch).values(id=1, rate=1587.42))

    assert isinstance(raised.value.orig, TypeError)


@pytest.mark.parametrize(
    "rate", ["1587.42", "0.000000001", "655.957", "1.50", "123456789012.3456789"]
)
async def test_decimals_round_trip_exactly(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], scratch: Table, rate: str
) -> None:
    async with unit_of_work(sessions) as session:
        await session.execute(insert(scratch).values(id=1, rate=Decimal(rate)))

    read = await stored(engine, scratch, "rate")

    assert isinstance(read, Decimal)
    assert read == Decimal(rate)
    assert read.as_tuple() == Decimal(rate).as_tuple()


async def test_the_catalogue_keeps_fx_rates_exact(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        operator = await session.get(Operator, "ng-mtn")

    assert operator is not None
    assert isinstance(operator.fx_rate, Decimal)
    assert operator.fx_rate > 1
