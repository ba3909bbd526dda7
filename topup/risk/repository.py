"""Every query of the risk domain: rules, windows over past orders, locks, blocks, audit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from topup.orders.models import Order, OrderStatus, PaymentStatus
from topup.risk.models import (
    CardBlock,
    FraudSignalRule,
    LimitRule,
    MarketRule,
    RiskDecision,
    RiskLock,
    RiskThresholds,
)

# Orders that use up a limit: every one that may still deliver, and every one delivered.
# Declined, failed and rejected orders moved no credit and count for nothing.
COUNTED = [
    status.value
    for status in (
        OrderStatus.created,
        OrderStatus.authorized,
        OrderStatus.submitted,
        OrderStatus.pending,
        OrderStatus.review,
        OrderStatus.succeeded,
    )
]


@dataclass(frozen=True)
class Window:
    """One limit's view of past orders: whose (``scope``), since when, which market."""

    scope: ColumnElement[bool]
    since: datetime
    market: str | None


class RiskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- rules ------------------------------------------------------------------------

    async def limit_rules(self, *, enabled_only: bool = True) -> Sequence[LimitRule]:
        query = select(LimitRule).order_by(LimitRule.id)
        if enabled_only:
            query = query.where(LimitRule.enabled.is_(True))
        return (await self.session.scalars(query)).all()

    async def limit_rule(self, rule_id: str) -> LimitRule | None:
        return await self.session.get(LimitRule, rule_id, with_for_update=True)

    async def market_rules(self) -> Sequence[MarketRule]:
        return (await self.session.scalars(select(MarketRule).order_by(MarketRule.market))).all()

    async def market_rule(self, market: str) -> MarketRule | None:
        return await self.session.get(MarketRule, market)

    async def signal_rules(self) -> Sequence[FraudSignalRule]:
        query = select(FraudSignalRule).order_by(FraudSignalRule.id)
        return (await self.session.scalars(query)).all()

    async def signal_rule(self, signal_id: str) -> FraudSignalRule | None:
        return await self.session.get(FraudSignalRule, signal_id, with_for_update=True)

    async def thresholds(self) -> RiskThresholds | None:
        return await self.session.get(RiskThresholds, 1)

    async def has_rules(self) -> bool:
        return await self.thresholds() is not None

    def add(
        self,
        row: LimitRule | MarketRule | FraudSignalRule | RiskThresholds | CardBlock | RiskDecision,
    ) -> None:
        self.session.add(row)

    # ---- serialising the checks of one customer, number and card ------------------------

    async def lock(self, keys: Sequence[str], now: datetime) -> None:
        """Hold the lock rows of ``keys`` until the transaction ends, taking them in one
        order so two transactions never wait on each other in a circle. One upsert both
        makes a missing row and locks an existing one (ON CONFLICT DO UPDATE takes the
        row lock), in one round trip whatever the number of keys."""
        ordered = sorted(set(keys))
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(RiskLock)
            .values([{"key": key, "touched_at": now} for key in ordered])
            .on_conflict_do_update(index_elements=["key"], set_={"touched_at": now})
        )

    # ---- windows over past orders -------------------------------------------------------

    async def window_totals(self, windows: Sequence[Window]) -> list[tuple[int, int]]:
        """(how many orders, their EUR cents) in each window, all in one query: each window
        is a filtered aggregate over the orders any of them can see."""
        if not windows:
            return []
        columns: list[ColumnElement[int]] = []
        for window in windows:
            inside = and_(window.scope, Order.created_at > window.since)
            if window.market is not None:
                inside = and_(inside, Order.country_iso2 == window.market)
            columns.append(func.count().filter(inside))
            columns.append(func.coalesce(func.sum(Order.price_amount).filter(inside), 0))
        query = select(*columns).where(
            Order.status.in_(COUNTED),
            or_(*(window.scope for window in windows)),
            Order.created_at > min(window.since for window in windows),
        )
        row = (await self.session.execute(query)).one()
        return [(int(row[2 * i]), int(row[2 * i + 1])) for i in range(len(windows))]

    async def distinct_cards(self, customer_id: str, *, since: datetime) -> set[str]:
        query = select(Order.card_fingerprint).where(
            Order.customer_id == customer_id,
            Order.created_at > since,
            Order.card_fingerprint.is_not(None),
        )
        return {row for row in (await self.session.scalars(query.distinct())).all() if row}

    async def accounts_of_card(self, fingerprint: str, *, since: datetime) -> set[str]:
        query = select(Order.customer_id).where(
            Order.card_fingerprint == fingerprint, Order.created_at > since
        )
        return set((await self.session.scalars(query.distinct())).all())

    async def declines(self, customer_id: str, *, since: datetime) -> int:
        query = select(func.count()).where(
            Order.customer_id == customer_id,
            Order.payment_status == PaymentStatus.declined.value,
            Order.updated_at > since,
        )
        return int(await self.session.scalar(query) or 0)

    async def distinct_recipients(self, customer_id: str, *, since: datetime) -> set[str]:
        query = select(Order.recipient_phone).where(
            Order.customer_id == customer_id,
            Order.created_at > since,
            Order.status.in_(COUNTED),
        )
        return {row for row in (await self.session.scalars(query.distinct())).all() if row}

    async def latest_to(self, customer_id: str, recipient: str, *, since: datetime) -> Order | None:
        query = (
            select(Order)
            .where(
                Order.customer_id == customer_id,
                Order.recipient_phone == recipient,
                Order.created_at > since,
                Order.status.in_(COUNTED),
            )
            .order_by(Order.created_at.desc())
            .limit(1)
        )
        return await self.session.scalar(query)

    # ---- blocks ---------------------------------------------------------------------------

    async def card_block(self, fingerprint: str) -> CardBlock | None:
        return await self.session.get(CardBlock, fingerprint)

    async def remove_card_block(self, block: CardBlock) -> None:
        await self.session.delete(block)

    # ---- the audit log --------------------------------------------------------------------

    async def decisions(
        self,
        *,
        order_id: str | None,
        customer_id: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[RiskDecision]:
        """Newest first, by keyset over (created_at, id)."""
        query = select(RiskDecision)
        if order_id is not None:
            query = query.where(RiskDecision.order_id == order_id)
        if customer_id is not None:
            query = query.where(RiskDecision.customer_id == customer_id)
        if after is not None:
            query = query.where(tuple_(RiskDecision.created_at, RiskDecision.id) < after)
        query = query.order_by(RiskDecision.created_at.desc(), RiskDecision.id.desc())
        return (await self.session.scalars(query.limit(limit))).all()

    async def orders_in_review(
        self, *, limit: int, after: tuple[datetime, str] | None
    ) -> Sequence[Order]:
        """The review queue, oldest first (the first to reach its deadline)."""
        query = select(Order).where(Order.status == OrderStatus.review.value)
        if after is not None:
            query = query.where(tuple_(Order.created_at, Order.id) > after)
        query = query.order_by(Order.created_at, Order.id).limit(limit)
        return (await self.session.scalars(query)).all()
