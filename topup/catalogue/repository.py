"""Every query of the catalogue domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.models import (
    CatalogueState,
    Country,
    Operator,
    OperatorPrefix,
    OperatorPromotion,
    Product,
    PromotionSync,
)

STATE_ROW_ID = 1


class CatalogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current_version(self) -> int | None:
        return await self.session.scalar(
            select(CatalogueState.version).where(CatalogueState.id == STATE_ROW_ID)
        )

    async def state(self) -> CatalogueState | None:
        return await self.session.get(CatalogueState, STATE_ROW_ID)

    async def bump_version(
        self, *, now: datetime, fx_date: str | None = None, fx_source: str | None = None
    ) -> int:
        state = await self.session.get(CatalogueState, STATE_ROW_ID, with_for_update=True)
        if state is None:
            state = CatalogueState(
                id=STATE_ROW_ID,
                version=0,
                fx_date=fx_date or "",
                fx_source=fx_source or "",
                updated_at=now,
            )
            self.session.add(state)
        state.version += 1
        state.updated_at = now
        if fx_date is not None:
            state.fx_date = fx_date
        if fx_source is not None:
            state.fx_source = fx_source
        await self.session.flush()
        return state.version

    async def all_countries(self) -> Sequence[Country]:
        return (await self.session.scalars(select(Country).order_by(Country.name))).all()

    async def all_operators(self) -> Sequence[Operator]:
        query = select(Operator).order_by(Operator.country_iso2, Operator.position)
        return (await self.session.scalars(query)).all()

    async def all_products(self) -> Sequence[Product]:
        query = select(Product).order_by(Product.operator_id, Product.position)
        return (await self.session.scalars(query)).all()

    async def all_prefixes(self) -> Sequence[tuple[str, str]]:
        rows = await self.session.execute(select(OperatorPrefix.prefix, OperatorPrefix.operator_id))
        return [(prefix, operator_id) for prefix, operator_id in rows]

    async def countries_by_iso2(self) -> dict[str, Country]:
        return {country.iso2: country for country in await self.all_countries()}

    async def operator(self, operator_id: str) -> Operator | None:
        return await self.session.get(Operator, operator_id)

    async def operators_by_id(self) -> dict[str, Operator]:
        return {operator.id: operator for operator in await self.all_operators()}

    async def products_by_id(self) -> dict[str, Product]:
        return {product.id: product for product in await self.all_products()}

    def add(self, row: Country | Operator | Product | OperatorPromotion) -> None:
        self.session.add(row)

    async def replace_prefixes(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Swap the whole prefix table for ``(prefix, operator_id)`` pairs in one go."""
        await self.session.execute(delete(OperatorPrefix))
        rows = [{"prefix": prefix, "operator_id": operator_id} for prefix, operator_id in pairs]
        if rows:
            await self.session.execute(insert(OperatorPrefix), rows)

    async def set_country_enabled(self, iso2: str, enabled: bool) -> bool:
        result = await self.session.execute(
            update(Country).where(Country.iso2 == iso2).values(enabled=enabled)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_operator_enabled(self, operator_id: str, enabled: bool) -> bool:
        result = await self.session.execute(
            update(Operator).where(Operator.id == operator_id).values(enabled=enabled)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_product_enabled(self, product_id: str, enabled: bool) -> bool:
        result = await self.session.execute(
            update(Product).where(Product.id == product_id).values(enabled=enabled)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # ---- operator promotions --------------------------------------------------------------

    async def shown_promotions(self, now: datetime) -> Sequence[OperatorPromotion]:
        """Promotions that are on (admin), still listed (supplier) and not over yet."""
        query = (
            select(OperatorPromotion)
            .where(
                OperatorPromotion.enabled.is_(True),
                OperatorPromotion.withdrawn_at.is_(None),
                OperatorPromotion.ends_at > now,
            )
            .order_by(OperatorPromotion.starts_at, OperatorPromotion.id)
        )
        return (await self.session.scalars(query)).all()

    async def promotion(self, promotion_id: str) -> OperatorPromotion | None:
        return await self.session.get(OperatorPromotion, promotion_id)

    async def promotions_of_supplier(self, supplier: str) -> dict[str, OperatorPromotion]:
        query = select(OperatorPromotion).where(OperatorPromotion.supplier == supplier)
        rows = (await self.session.scalars(query)).all()
        return {row.supplier_promotion_id: row for row in rows}

    async def promotion_page(
        self,
        *,
        operator_id: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Sequence[OperatorPromotion]:
        """Newest first, by (created_at, id): a keyset page for the admin list."""
        query = select(OperatorPromotion)
        if operator_id is not None:
            query = query.where(OperatorPromotion.operator_id == operator_id)
        if after is not None:
            created_at, row_id = after
            query = query.where(
                or_(
                    OperatorPromotion.created_at < created_at,
                    and_(OperatorPromotion.created_at == created_at, OperatorPromotion.id < row_id),
                )
            )
        query = query.order_by(
            OperatorPromotion.created_at.desc(), OperatorPromotion.id.desc()
        ).limit(limit)
        return (await self.session.scalars(query)).all()


class PromotionSyncRepository:
    """The sync's one row per supplier, leased by the worker like every due row."""

    def __init__(self, session: AsyncSession, supplier: str | None = None) -> None:
        self.session = session
        # The worker claims only the configured supplier's row: a row left by a supplier
        # the settings no longer name must not be synced from the current one.
        self.supplier = supplier

    async def row(self, supplier: str) -> PromotionSync | None:
        return await self.session.get(PromotionSync, supplier)

    def add(self, row: PromotionSync) -> None:
        self.session.add(row)

    async def due_ids(self, now: datetime, *, limit: int) -> Sequence[str]:
        query = select(PromotionSync.supplier).where(PromotionSync.due_at <= now)
        if self.supplier is not None:
            query = query.where(PromotionSync.supplier == self.supplier)
        query = query.order_by(PromotionSync.due_at).limit(limit)
        return (await self.session.scalars(query)).all()

    async def take(self, row_id: str, *, now: datetime, lease_until: datetime) -> bool:
        result = await self.session.execute(
            update(PromotionSync)
            .where(PromotionSync.supplier == row_id, PromotionSync.due_at <= now)
            .values(due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def finish(self, supplier: str, *, synced_at: datetime, next_at: datetime) -> None:
        await self.session.execute(
            update(PromotionSync)
            .where(PromotionSync.supplier == supplier)
            .values(due_at=next_at, synced_at=synced_at),
            execution_options={"synchronize_session": False},
        )
