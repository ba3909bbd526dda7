"""Every query of the notifications domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.notifications.models import OutboundMessage


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, message: OutboundMessage) -> None:
        self.session.add(message)

    async def newest(self, *, recipient: str | None, limit: int) -> Sequence[OutboundMessage]:
        query = select(OutboundMessage).where(OutboundMessage.recipient.is_not(None))
        if recipient is not None:
            query = query.where(OutboundMessage.recipient == recipient)
        query = query.order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
        return (await self.session.scalars(query.limit(limit))).all()

    async def erase_for_customer(self, customer_id: str) -> None:
        """Remove the personal data from every message of a deleted account."""
        # Sessions do not autoflush: a message queued earlier in this unit of work must
        # reach the table before the UPDATE, or it would be inserted later unerased.
        await self.session.flush()
        await self.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.customer_id == customer_id)
            .values(recipient=None, subject=None, body=None)
        )
