"""Every query of the subscriptions domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.subscriptions.models import (
    OPEN_STATUSES,
    ChargeStatus,
    Subscription,
    SubscriptionCharge,
)


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Subscription | SubscriptionCharge) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    async def subscription(
        self, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None:
        """``for_update``: the row locked for this transaction, read after the lock.

        The lock is taken by a write that changes nothing, made first: on PostgreSQL it
        holds the row as FOR UPDATE would; on SQLite it makes this transaction the writer
        before it reads anything. A SQLite transaction that read first and wrote later
        (after a charge's number lookup) would be refused at once ("database is locked")
        had another writer committed meanwhile, since its snapshot would be stale."""
        if for_update:
            await self.session.execute(
                update(Subscription)
                .where(Subscription.id == subscription_id)
                .values(updated_at=Subscription.updated_at),
                execution_options={"synchronize_session": False},
            )
        return await self.session.get(Subscription, subscription_id, populate_existing=for_update)

    async def subscription_of(
        self, customer_id: str, subscription_id: str, *, for_update: bool = False
    ) -> Subscription | None:
        found = await self.subscription(subscription_id, for_update=for_update)
        return found if found is not None and found.customer_id == customer_id else None

    async def end_all_of(self, customer_id: str, *, now: datetime) -> None:
        """Cancel every open subscription of a deleted account, at once: nothing more is
        charged, and a charge in flight is still followed to its end."""
        await self.session.execute(
            update(Subscription)
            .where(
                Subscription.customer_id == customer_id,
                Subscription.status.in_([status.value for status in OPEN_STATUSES]),
            )
            .values(
                status="cancelled",
                ended_reason="account_deleted",
                cancelled_at=now,
                service_ends_at=case(
                    (Subscription.service_ends_at.is_(None), now),
                    else_=Subscription.service_ends_at,
                ),
                # A plan whose service stops now is ended at the supplier by the worker.
                service_end_due_at=case(
                    (Subscription.service_ends_at.is_(None), now),
                    else_=Subscription.service_end_due_at,
                ),
                open_key=None,
                next_charge_at=None,
                next_cycle=None,
                due_at=case(
                    (Subscription.pending_order_id.is_(None), None),
                    else_=Subscription.due_at,
                ),
                updated_at=now,
                version=Subscription.version + 1,
            ),
            execution_options={"synchronize_session": False},
        )

    async def open_with_key(self, open_key: str) -> Subscription | None:
        return await self.session.scalar(
            select(Subscription).where(Subscription.open_key == open_key)
        )

    async def page_of(
        self, customer_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[Subscription]:
        """Newest first, by keyset, as the orders are listed."""
        query = select(Subscription).where(Subscription.customer_id == customer_id)
        if after is not None:
            query = query.where(tuple_(Subscription.created_at, Subscription.id) < after)
        query = query.order_by(Subscription.created_at.desc(), Subscription.id.desc())
        return (await self.session.scalars(query.limit(limit))).all()

    async def charges_of(self, subscription_ids: Sequence[str]) -> Sequence[SubscriptionCharge]:
        if not subscription_ids:
            return []
        query = (
            select(SubscriptionCharge)
            .where(SubscriptionCharge.subscription_id.in_(subscription_ids))
            .order_by(SubscriptionCharge.created_at, SubscriptionCharge.cycle)
        )
        return (await self.session.scalars(query)).all()

    async def charge_for_order(self, order_id: str) -> SubscriptionCharge | None:
        return await self.session.scalar(
            select(SubscriptionCharge).where(SubscriptionCharge.order_id == order_id)
        )

    async def live_charge(self, subscription_id: str, *, at: datetime) -> SubscriptionCharge | None:
        """The succeeded charge whose bundle still ran at ``at`` (its period had not
        ended): the latest, should two overlap."""
        return await self.session.scalar(
            select(SubscriptionCharge)
            .where(
                SubscriptionCharge.subscription_id == subscription_id,
                SubscriptionCharge.status == ChargeStatus.succeeded.value,
                SubscriptionCharge.period_end > at,
            )
            .order_by(SubscriptionCharge.period_start.desc())
            .limit(1)
        )

    # ---- the worker's queue (kit.leases.LeasedRows) --------------------------------------

    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]:
        query = (
            select(Subscription.id)
            .where(Subscription.due_at <= now)
            .order_by(Subscription.due_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def take(self, subscription_id: str, *, now: datetime, lease_until: datetime) -> bool:
        """Lease one due subscription: one conditional UPDATE, so of two workers one wins.
        The version moves too, so a step that read the row before the lease was taken
        cannot write over it."""
        result = await self.session.execute(
            update(Subscription)
            .where(Subscription.id == subscription_id, Subscription.due_at <= now)
            .values(due_at=lease_until, version=Subscription.version + 1),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))


class ServiceEndQueue:
    """The subscriptions whose stopped service is still to be told to the supplier
    (kit.leases.LeasedRows over ``service_end_due_at``). Its lease moves no version: it
    is a queue of its own beside the charges', and must not make a customer's change
    or a charge step fail as stale."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]:
        query = (
            select(Subscription.id)
            .where(Subscription.service_end_due_at <= now)
            .order_by(Subscription.service_end_due_at)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def take(self, subscription_id: str, *, now: datetime, lease_until: datetime) -> bool:
        result = await self.session.execute(
            update(Subscription)
            .where(Subscription.id == subscription_id, Subscription.service_end_due_at <= now)
            .values(service_end_due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))
