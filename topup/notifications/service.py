"""Writing messages to the outbox, inside the transaction of the event that causes them.

If that transaction rolls back, no message exists; once it commits, the message cannot
be lost, and the worker (``tasks.py``) delivers it. Each message is rendered here, once,
in its reader's language, so what the worker sends is exactly what was decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.kit.i18n import DEFAULT_LANGUAGE
from topup.kit.ids import new_id
from topup.notifications.models import Channel, MessageStatus, OutboundMessage
from topup.notifications.rendering import render, render_email, supported
from topup.notifications.repository import MessageRepository
from topup.notifications.segments import count_segments, sms_text


def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    recipient: str,
    body: str,
    kind: str,
    subject: str | None = None,
    html_body: str | None = None,
    customer_id: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    dedupe_key: str | None = None,
    expires_in: timedelta | None = None,
) -> OutboundMessage:
    """Add a message to the outbox; it exists only if the caller's transaction commits.
    ``expires_in``: how long it is worth sending (a code, a link), if not for ever."""
    now = clock.now()
    message = OutboundMessage(
        id=new_id("msg"),
        channel=channel.value,
        recipient=recipient,
        subject=subject,
        body=body,
        html_body=html_body,
        kind=kind,
        customer_id=customer_id,
        language=language,
        dedupe_key=dedupe_key,
        segments=count_segments(body).segments if channel is Channel.sms else None,
        status=MessageStatus.pending.value,
        attempts=0,
        due_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
        created_at=now,
    )
    MessageRepository(session).add(message)
    return message


def email(
    session: AsyncSession,
    *,
    kind: str,
    to: str,
    language: str,
    customer_id: str | None,
    dedupe_key: str | None = None,
    expires_in: timedelta | None = None,
    **context: object,
) -> OutboundMessage:
    """Render the ``kind`` email in ``language`` and queue it."""
    language = supported(language)
    rendered = render_email(language, kind, **context)
    return enqueue(
        session,
        channel=Channel.email,
        recipient=to,
        kind=kind,
        subject=rendered.subject,
        body=rendered.text,
        html_body=rendered.html,
        customer_id=customer_id,
        language=language,
        dedupe_key=dedupe_key,
        expires_in=expires_in,
    )


def sms(
    session: AsyncSession,
    *,
    kind: str,
    to: str,
    language: str,
    customer_id: str | None,
    dedupe_key: str | None = None,
    expires_in: timedelta | None = None,
    **context: object,
) -> OutboundMessage:
    """Render the ``kind`` SMS in ``language`` and queue it."""
    language = supported(language)
    return enqueue(
        session,
        channel=Channel.sms,
        recipient=to,
        kind=kind,
        body=sms_text(render(language, f"{kind}.sms", **context)),
        customer_id=customer_id,
        language=language,
        dedupe_key=dedupe_key,
        expires_in=expires_in,
    )


async def supersede(session: AsyncSession, customer_id: str, kind: str) -> None:
    """Unsent messages of ``kind`` to this customer will not go out: a newer one replaces
    them (a new code makes the older ones wrong)."""
    await MessageRepository(session).supersede(customer_id, kind)


async def already_queued(session: AsyncSession, dedupe_key: str) -> bool:
    """Whether the event behind ``dedupe_key`` already has its message."""
    return await MessageRepository(session).by_dedupe_key(dedupe_key) is not None


@dataclass(frozen=True)
class DeliveryCount:
    channel: str
    status: str
    count: int
    oldest: datetime | None


async def delivery_counts(session: AsyncSession) -> list[DeliveryCount]:
    """How the outbox stands, for `topup messages status`."""
    return [DeliveryCount(*row) for row in await MessageRepository(session).counts()]


async def requeue_dead(session: AsyncSession, message_ids: Sequence[str] | None) -> int:
    """Give dead messages a fresh set of attempts, due now: once a provider's settings are
    fixed, what it refused can still go out. Erased ones stay dead (nothing to send)."""
    now = clock.now()
    requeued = 0
    for message in await MessageRepository(session).dead(message_ids):
        if message.recipient is None or message.body is None:
            continue
        message.status = MessageStatus.pending.value
        message.attempts = 0
        message.due_at = now
        requeued += 1
    return requeued
