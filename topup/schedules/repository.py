"""Every query of the schedules domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.orders.models import Order
from topup.schedules.models import Schedule, ScheduleRun, ScheduleStatus

ACTIVE = ScheduleStatus.active.value


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Schedule | ScheduleRun) -> None:
        self.session.add(row)

    async def schedule(self, schedule_id: str) -> Schedule | None:
        return await self.session.get(Schedule, schedule_id)

    async def locked(self, schedule_id: str) -> Schedule | None:
        """The schedule, locked until the transaction ends. A write comes first: it takes
        the row lock on PostgreSQL and the database's write lock on SQLite (where FOR
        UPDATE locks nothing and a read alone would not keep another writer out), so a
        worker recording a run and the customer pausing never both act on what they read."""
        await self.session.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)
            .values(updated_at=Schedule.updated_at),
            execution_options={"synchronize_session": False},
        )
        return await self.session.get(Schedule, schedule_id, populate_existing=True)

    async def schedule_of(self, customer_id: str, schedule_id: str) -> Schedule | None:
        query = select(Schedule).where(
            Schedule.id == schedule_id, Schedule.customer_id == customer_id
        )
        return await self.session.scalar(query)

    async def page_of(
        self, customer_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[Schedule]:
        """Newest first, by keyset."""
        query = select(Schedule).where(Schedule.customer_id == customer_id)
        if after is not None:
            query = query.where(tuple_(Schedule.created_at, Schedule.id) < after)
        query = query.order_by(Schedule.created_at.desc(), Schedule.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()

    async def count_open(self, customer_id: str) -> int:
        query = select(func.count()).where(
            Schedule.customer_id == customer_id, Schedule.status != ScheduleStatus.cancelled.value
        )
        return int(await self.session.scalar(query) or 0)

    async def order_statuses(self, order_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """(status, failure code) of each order, for the answers' last run."""
        if not order_ids:
            return {}
        query = select(Order.id, Order.status, Order.failure_code).where(Order.id.in_(order_ids))
        return {row[0]: (row[1], row[2]) for row in await self.session.execute(query)}

    async def order(self, order_id: str) -> Order | None:
        return await self.session.get(Order, order_id, populate_existing=True)

    # ---- the worker's queue ---------------------------------------------------------------

    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]:
        query = (
            select(Schedule.id)
            .where(Schedule.status == ACTIVE, Schedule.due_at <= now)
            .order_by(Schedule.due_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def take(self, schedule_id: str, *, now: datetime, lease_until: datetime) -> bool:
        """Lease one due schedule to this worker: one conditional UPDATE, so of two
        workers only one takes it, on SQLite too."""
        result = await self.session.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id, Schedule.status == ACTIVE, Schedule.due_at <= now)
            .values(due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    # ---- runs -----------------------------------------------------------------------------

    async def run_for(self, schedule_id: str, due_at: datetime, attempt: int) -> ScheduleRun | None:
        query = select(ScheduleRun).where(
            ScheduleRun.schedule_id == schedule_id,
            ScheduleRun.due_at == due_at,
            ScheduleRun.attempt == attempt,
        )
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def run_of_order(self, order_id: str) -> ScheduleRun | None:
        query = select(ScheduleRun).where(ScheduleRun.order_id == order_id)
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def runs_of(self, schedule_id: str) -> Sequence[ScheduleRun]:
        query = (
            select(ScheduleRun)
            .where(ScheduleRun.schedule_id == schedule_id)
            .order_by(ScheduleRun.due_at, ScheduleRun.attempt)
        )
        return (await self.session.scalars(query)).all()

    # ---- the account ----------------------------------------------------------------------

    async def cancel_all_of(self, customer_id: str, *, now: datetime) -> None:
        """An erased account's schedules: cancelled, and the recipient's number forgotten
        with the rest of the account's personal data."""
        await self.session.execute(
            update(Schedule)
            .where(Schedule.customer_id == customer_id)
            .values(
                status=ScheduleStatus.cancelled.value,
                recipient_phone=None,
                due_at=None,
                cancelled_at=func.coalesce(Schedule.cancelled_at, now),
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
