"""The worker's loop over rows that are their own queue (DESIGN §2): claim what is due
with a lease, then run the rows' steps side by side, with no lock held.

Claiming is one short transaction: the due ids, then one conditional UPDATE per row that
pushes its ``due_at`` to the end of the lease, so of two workers only one takes a row
(this holds on SQLite too, where FOR UPDATE locks nothing). A worker that dies mid-step
lets the lease lapse, and the row falls due again for whichever worker comes next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.kit import clock
from topup.kit.db import unit_of_work

log = structlog.get_logger("topup.worker")


class LeasedRows(Protocol):
    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]: ...

    async def take(self, row_id: str, *, now: datetime, lease_until: datetime) -> bool: ...


async def run_leased(
    session_factory: async_sessionmaker[AsyncSession],
    rows: Callable[[AsyncSession], LeasedRows],
    step: Callable[[str], Awaitable[object]],
    *,
    lease: timedelta,
    limit: int,
    failure_event: str,
) -> int:
    """One round: every due row is leased and stepped once. Returns how many were."""
    async with unit_of_work(session_factory) as session:
        repository = rows(session)
        now = clock.now()
        due = await repository.due_ids(now, limit=limit)
        claimed = [
            row_id
            for row_id in due
            if await repository.take(row_id, now=now, lease_until=now + lease)
        ]
    await step_each(claimed, step, failure_event=failure_event)
    return len(claimed)


async def step_each(
    row_ids: Sequence[str],
    step: Callable[[str], Awaitable[object]],
    *,
    failure_event: str,
) -> None:
    """Step every claimed row at once: a step mostly waits on a card network or a supplier
    (seconds, at a real one), so one after another a worker would move a row per wait.
    Each step takes a pooled connection only for its short transactions."""

    async def guarded(row_id: str) -> None:
        try:
            await step(row_id)
        except Exception:  # one broken row must not stop the others; its lease lapses
            log.exception(failure_event, row_id=row_id)

    await asyncio.gather(*(guarded(row_id) for row_id in row_ids))
