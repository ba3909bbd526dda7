"""Every query of the catalogue domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.models import CatalogueState, Country, Operator, OperatorPrefix, Product

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

    def add(self, row: Country | Operator | Product) -> None:
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
