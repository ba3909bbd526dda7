"""Every query of the orders domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.orders.models import ACTIVE_STATUSES, Order, OrderStatus, PaymentStatus


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

    async def due_ids(self, now: datetime, *, limit: int, skip_locked: bool) -> Sequence[str]:
        """Active orders due now, oldest first; on PostgreSQL locked for this transaction,
        so other workers skip them instead of queueing behind them."""
        query = (
            select(Order.id)
            .where(
                Order.status.in_([status.value for status in ACTIVE_STATUSES]), Order.due_at <= now
            )
            .order_by(Order.due_at)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def take(self, order_id: str, *, now: datetime, lease_until: datetime) -> bool:
        """Lease one due order to this worker; False if another worker was first. One
        conditional UPDATE, so it holds on SQLite too, where FOR UPDATE locks nothing."""
        result = await self.session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.status.in_([status.value for status in ACTIVE_STATUSES]),
                Order.due_at <= now,
            )
            .values(due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def decide_review(
        self, order_id: str, *, decision: str, status: str, now: datetime
    ) -> bool:
        """Set a review decision if none is set yet; False if someone (or something) was first."""
        result = await self.session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.status == OrderStatus.review.value,
                Order.review_decision.is_(None),
            )
            .values(review_decision=decision, status=status, due_at=now, updated_at=now),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def claim_refund(self, order_id: str, amount: int, *, ceiling: int) -> bool:
        """Claim ``amount`` of a captured order's price for a refund; False when the
        claims would pass ``ceiling`` (what the refund policy allows in all, never more
        than the price). One guarded UPDATE: of two racing requests for the same money,
        the second finds the first's claim and is refused."""
        result = await self.session.execute(
            update(Order)
            .where(
                Order.id == order_id,
                Order.payment_status == PaymentStatus.captured.value,
                Order.refunded_amount + amount <= Order.price_amount,
                Order.refunded_amount + amount <= ceiling,
            )
            .values(refunded_amount=Order.refunded_amount + amount),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def release_refund(self, order_id: str, amount: int) -> None:
        """Give back a claim whose request was rejected."""
        await self.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(refunded_amount=Order.refunded_amount - amount),
            execution_options={"synchronize_session": False},
        )
