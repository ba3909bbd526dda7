"""Every query of the promotions domain.

The counters move only by guarded single UPDATEs: the condition and the change are one
statement, so two transactions can never both take the last use. On PostgreSQL the second
UPDATE waits for the first's row lock and re-reads the row before it decides; on SQLite
writers take turns on the database. Either way the rowcount says who won.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from topup.promotions.models import (
    PromoCode,
    PromoCustomerUse,
    PromoRedemption,
    RedemptionStatus,
)


class PromoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: PromoCode | PromoRedemption) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # ---- codes ---------------------------------------------------------------------------

    async def code(self, code_id: str) -> PromoCode | None:
        return await self.session.get(PromoCode, code_id)

    async def code_named(self, code: str) -> PromoCode | None:
        return await self.session.scalar(select(PromoCode).where(PromoCode.code == code))

    async def page(self, *, limit: int, after: tuple[datetime, str] | None) -> Sequence[PromoCode]:
        """Newest first, by keyset on (created_at, id)."""
        query = select(PromoCode)
        if after is not None:
            query = query.where(tuple_(PromoCode.created_at, PromoCode.id) < after)
        query = query.order_by(PromoCode.created_at.desc(), PromoCode.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()

    async def redemption_counts(self, code_id: str) -> dict[str, int]:
        """How many of the code's redemptions are in each status."""
        rows = await self.session.execute(
            select(PromoRedemption.status, func.count())
            .where(PromoRedemption.promo_code_id == code_id)
            .group_by(PromoRedemption.status)
        )
        return {status: int(count) for status, count in rows}

    # ---- the total limit -----------------------------------------------------------------

    async def take_total(self, code_id: str) -> bool:
        """One more use of the code; False when its total is reached."""
        result = await self.session.execute(
            update(PromoCode)
            .where(
                PromoCode.id == code_id,
                (PromoCode.max_redemptions.is_(None))
                | (PromoCode.redeemed < PromoCode.max_redemptions),
            )
            .values(redeemed=PromoCode.redeemed + 1),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def give_back_total(self, code_id: str) -> None:
        await self.session.execute(
            update(PromoCode)
            .where(PromoCode.id == code_id, PromoCode.redeemed > 0)
            .values(redeemed=PromoCode.redeemed - 1),
            execution_options={"synchronize_session": False},
        )

    # ---- one customer's limit ------------------------------------------------------------

    async def uses_of(self, code_id: str, customer_id: str) -> int:
        uses = await self.session.scalar(
            select(PromoCustomerUse.uses).where(
                PromoCustomerUse.promo_code_id == code_id,
                PromoCustomerUse.customer_id == customer_id,
            )
        )
        return int(uses or 0)

    async def take_customer_use(self, code_id: str, customer_id: str, *, limit: int) -> bool:
        """One more use by this customer; False when they reached ``limit``. The counter
        row is made if absent first (ON CONFLICT DO NOTHING: two first uses at once make
        one row), then moved by a guarded UPDATE like the total."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(PromoCustomerUse)
            .values(promo_code_id=code_id, customer_id=customer_id, uses=0)
            .on_conflict_do_nothing(index_elements=["promo_code_id", "customer_id"])
        )
        result = await self.session.execute(
            update(PromoCustomerUse)
            .where(
                PromoCustomerUse.promo_code_id == code_id,
                PromoCustomerUse.customer_id == customer_id,
                PromoCustomerUse.uses < limit,
            )
            .values(uses=PromoCustomerUse.uses + 1),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def give_back_customer_use(self, code_id: str, customer_id: str) -> None:
        await self.session.execute(
            update(PromoCustomerUse)
            .where(
                PromoCustomerUse.promo_code_id == code_id,
                PromoCustomerUse.customer_id == customer_id,
                PromoCustomerUse.uses > 0,
            )
            .values(uses=PromoCustomerUse.uses - 1),
            execution_options={"synchronize_session": False},
        )

    # ---- redemptions ---------------------------------------------------------------------

    async def close_redemption(
        self, order_id: str, status: RedemptionStatus, *, now: datetime
    ) -> bool:
        """Move a reserved redemption to ``status``; False if it was closed already (a
        repeated step, or another worker), so the counters are given back only once."""
        result = await self.session.execute(
            update(PromoRedemption)
            .where(
                PromoRedemption.order_id == order_id,
                PromoRedemption.status == RedemptionStatus.reserved.value,
            )
            .values(status=status.value, updated_at=now),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))
