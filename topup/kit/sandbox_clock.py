"""The sandbox clock, shared by every process through the database.

``POST /v1/sandbox/clock`` moves time forward so a 24-hour expiry can be watched in
seconds. The offset is stored in one row; the process that moved it applies it at once,
and every worker takes it up at the start of its next round.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from topup.kit import clock
from topup.kit.db import Base

ROW_ID = 1


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
