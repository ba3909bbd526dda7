"""Throw-away PostgreSQL databases for a benchmark run, so a run never touches real data."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from topup.kit.db import create_engine


async def _administer(server_url: str, statement: str) -> None:
    admin = create_engine(server_url)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


@asynccontextmanager
async def fresh_database(server_url: str, purpose: str) -> AsyncIterator[str]:
    """A new, empty database beside the one ``server_url`` names, dropped afterwards;
    yields its URL."""
    name = f"topup_{purpose}_{secrets.token_hex(4)}"
    await _administer(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _administer(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
