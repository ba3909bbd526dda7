"""Alembic environment for Topup.

`topup db upgrade` hands an open connection in ``config.attributes["connection"]``; the
plain ``alembic`` command line builds its own engine from TOPUP_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from topup.config import get_settings
from topup.kit.db import create_engine
from topup.models import metadata

config = context.config


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Write Topup's column types as their plain SQL type, so migrations never import them."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl_instance!r}"
    return False


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER columns
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(get_settings().database_url)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_online())
