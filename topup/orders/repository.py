"""Every query of the orders domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from topup.orders.models import ACTIVE_STATUSES, Order


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        self.session.add(order)

    async def order(self, order_id: str, *, for_update: bool = False) -> Order | None:
        return await self.session.get(
            Order, order_id, with_for_update=for_update, populate_existing=for_update
        )

    async def order_of(self, customer_id: str, order_id: str) -> Order | None:
        query = select(Order).where(Order.id == order_id, Order.customer_id == customer_id)
        return await self.session.scalar(query)

    async def page_of(
        self, customer_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[Order]:
        """Newest first, by keyset: (created_at, id) below the cursor, never OFFSET."""
        query = select(Order).where(Order.customer_id == customer_id)
        if after is not None:
            query = query.where(tuple_(Order.created_at, Order.id) < after)
        query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()

    async def claim_due(self, now: datetime, *, limit: int, skip_locked: bool) -> Sequence[Order]:
        """Due orders, locked for this transaction; other workers skip them (PostgreSQL)."""
        query = (
            select(Order)
            .where(
                Order.status.in_([status.value for status in ACTIVE_STATUSES]), Order.due_at <= now
            )
            .order_by(Order.due_at)
            .limit(limit)
            .with_for_update(skip_locked=skip_locked)
        )
        return (await self.session.scalars(query)).all()
