"""Writing messages to the outbox, inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.kit.ids import new_id
from topup.notifications.models import Channel, MessageStatus, OutboundMessage
from topup.notifications.repository import MessageRepository


def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    recipient: str,
    body: str,
    kind: str,
    subject: str | None = None,
    customer_id: str | None = None,
) -> OutboundMessage:
    """Add a message to the outbox; it exists only if the caller's transaction commits."""
    now = clock.now()
    message = OutboundMessage(
        id=new_id("msg"),
        channel=channel.value,
        recipient=recipient,
        subject=subject,
        body=body,
        kind=kind,
        customer_id=customer_id,
        status=MessageStatus.pending.value,
        attempts=0,
        due_at=now,
        created_at=now,
    )
    MessageRepository(session).add(message)
    return message
