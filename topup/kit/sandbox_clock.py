"""The sandbox clock, shared by every process through the database.

``POST /v1/sandbox/clock`` moves time forward so a 24-hour expiry can be watched in
seconds. The offset is stored in one row; the process that moved it applies it at once,
every worker takes it up at the start of its next round, and every API process takes it
up when it starts and then follows it (:func:`follow`). Production never reads it.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import Float, Integer, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit import clock
from topup.kit.db import Base

ROW_ID = 1
# How often an API process reads the stored offset. A background read once a second, not
# a read on each request: it costs one primary-key SELECT a second per process, adds
# nothing to any request, and a move made in another process is seen within a second.
FOLLOW_INTERVAL_SECONDS = 1.0

log = structlog.get_logger("topup.sandbox_clock")


class SandboxClock(Base):
    __tablename__ = "sandbox_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(Float)


async def advance(session: AsyncSession, seconds: float) -> float:
    """Move the shared clock forward; returns the new offset in seconds."""
    row = await session.get(SandboxClock, ROW_ID, with_for_update=True)
    if row is None:
        row = SandboxClock(id=ROW_ID, offset_seconds=0.0)
        session.add(row)
    row.offset_seconds = max(row.offset_seconds, clock.offset_seconds()) + seconds
    await session.flush()
    clock.set_offset(row.offset_seconds)
    return row.offset_seconds


async def sync(session: AsyncSession) -> None:
    """Take up an offset another process stored."""
    stored = await session.scalar(
        select(SandboxClock.offset_seconds).where(SandboxClock.id == ROW_ID)
    )
    if stored is not None:
        clock.set_offset(stored)


async def take_up(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """:func:`sync` in a session of its own; a database that is away for a moment is
    logged, not raised: the next read catches up."""
    try:
        async with session_factory() as session:
            await sync(session)
    except Exception as error:  # any failure only delays the next read
        log.warning("sandbox_clock_unread", error=type(error).__name__)


async def follow(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Keep this process on the stored offset until cancelled (an API process's task)."""
    while True:
        await asyncio.sleep(FOLLOW_INTERVAL_SECONDS)
        await take_up(session_factory)
