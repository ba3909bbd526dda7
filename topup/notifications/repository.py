"""Every query of the notifications domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from topup.notifications.models import MessageStatus, OutboundMessage

# A message in "sending" is claimed until its due_at; past that its worker is presumed dead.
DELIVERABLE = (MessageStatus.pending.value, MessageStatus.sending.value)


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, message: OutboundMessage) -> None:
        self.session.add(message)

    async def message(self, message_id: str, *, for_update: bool = False) -> OutboundMessage | None:
        return await self.session.get(OutboundMessage, message_id, with_for_update=for_update)

    async def due_ids(self, now: datetime, *, limit: int, skip_locked: bool) -> Sequence[str]:
        """Messages due now, oldest first; on PostgreSQL locked for this transaction, so
        other workers skip them instead of queueing behind them."""
        query = (
            select(OutboundMessage.id)
            .where(OutboundMessage.status.in_(DELIVERABLE), OutboundMessage.due_at <= now)
            .order_by(OutboundMessage.due_at)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def take(
        self, message_id: str, *, now: datetime, lease_until: datetime
    ) -> OutboundMessage | None:
        """Claim one due message for a new attempt; None if another worker was first.

        One conditional UPDATE: atomic on SQLite too, where a SELECT … FOR UPDATE locks
        nothing and two workers could otherwise read the same attempt number.
        """
        claimed = await self.session.scalars(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status.in_(DELIVERABLE),
                OutboundMessage.due_at <= now,
            )
            .values(
                status=MessageStatus.sending.value,
                attempts=OutboundMessage.attempts + 1,
                due_at=lease_until,
            )
            .returning(OutboundMessage),
            execution_options={"synchronize_session": False},
        )
        return claimed.one_or_none()

    async def extend(self, message_id: str, *, attempt: int, lease_until: datetime) -> bool:
        """Renew this attempt's lease; False if the message is no longer this attempt's."""
        result = await self.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == MessageStatus.sending.value,
                OutboundMessage.attempts == attempt,
            )
            .values(due_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def supersede(self, customer_id: str, kind: str) -> None:
        """A newer message of ``kind`` replaces the unsent ones (a new code, say)."""
        await self.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.customer_id == customer_id,
                OutboundMessage.kind == kind,
                OutboundMessage.status == MessageStatus.pending.value,
            )
            .values(status=MessageStatus.dead.value, last_error="superseded by a newer one"),
            execution_options={"synchronize_session": False},
        )

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
            .values(recipient=None, subject=None, body=None, html_body=None, last_error=None)
        )

    async def by_dedupe_key(self, dedupe_key: str) -> OutboundMessage | None:
        await self.session.flush()  # a message queued earlier in this unit of work counts
        return await self.session.scalar(
            select(OutboundMessage).where(OutboundMessage.dedupe_key == dedupe_key)
        )

    async def counts(self) -> list[tuple[str, str, int, datetime | None]]:
        """(channel, status, how many, oldest created_at) for every pair that has rows."""
        await self.session.flush()  # sessions do not autoflush: count what this one changed
        query = (
            select(
                OutboundMessage.channel,
                OutboundMessage.status,
                func.count(),
                func.min(OutboundMessage.created_at),
            )
            .group_by(OutboundMessage.channel, OutboundMessage.status)
            .order_by(OutboundMessage.channel, OutboundMessage.status)
        )
        rows = (await self.session.execute(query)).all()
        return [(channel, status, count, oldest) for channel, status, count, oldest in rows]

    async def dead(self, message_ids: Sequence[str] | None) -> Sequence[OutboundMessage]:
        query = select(OutboundMessage).where(OutboundMessage.status == MessageStatus.dead.value)
        if message_ids is not None:
            query = query.where(OutboundMessage.id.in_(message_ids))
        return (await self.session.scalars(query.with_for_update())).all()
