"""Every query of the payments domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from topup.payments.models import SavedCard


class CardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, card: SavedCard) -> None:
        self.session.add(card)

    async def cards_of(self, customer_id: str) -> Sequence[SavedCard]:
        query = (
            select(SavedCard)
            .where(SavedCard.customer_id == customer_id)
            .order_by(SavedCard.created_at.desc(), SavedCard.id.desc())
        )
        return (await self.session.scalars(query)).all()

    async def card(self, card_id: str) -> SavedCard | None:
        """Any customer's card: for staff, who block cards by the id they see."""
        return await self.session.get(SavedCard, card_id)

    async def card_of(self, customer_id: str, card_id: str) -> SavedCard | None:
        """The card, only if it belongs to this customer."""
        query = select(SavedCard).where(
            SavedCard.id == card_id, SavedCard.customer_id == customer_id
        )
        return await self.session.scalar(query)

    async def remove(self, card: SavedCard) -> None:
        await self.session.delete(card)

    async def remove_all_of(self, customer_id: str) -> None:
        await self.session.execute(delete(SavedCard).where(SavedCard.customer_id == customer_id))
