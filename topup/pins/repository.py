"""Every query of the PIN domain."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.pins.models import OrderPin


class PinRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, pin: OrderPin) -> None:
        self.session.add(pin)

    async def of_order(self, order_id: str) -> OrderPin | None:
        return await self.session.get(OrderPin, order_id)
