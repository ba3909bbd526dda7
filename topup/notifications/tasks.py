"""The worker's part for messages: claim what is due, hand it to the provider, record it.

Short steps, each its own transaction or none: the claim marks the message ``sending``
with a new attempt number until a lease runs out (one conditional UPDATE per message, so
two workers can never hold the same attempt, on SQLite either); just before the send the
lease is renewed, and the send is cut off well inside it, so no message is ever in two
workers' hands; the send holds no database lock; the record checks the attempt is still
this worker's. A process that dies after the provider took a message but before the
record leaves it ``sending``; when the lease lapses it is sent again under the same
identity (the SMS provider's idempotency key, the email's Message-ID), which the provider
or the mailbox recognises as the same message. A message found past its ``expires_at``
(a code, a reset link) ends dead rather than arriving useless.

A refusal that says "later" (a 4xx SMTP reply, an HTTP 429 or 5xx, no answer) is tried
again with exponential back-off; one that says "never" (a 5xx SMTP reply, an HTTP 400),
or running out of attempts, ends the message as ``dead`` with the reason kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.notifications.models import Channel, MessageStatus, OutboundMessage
from topup.notifications.repository import MessageRepository
from topup.providers.delivery import DeliveryFailed
from topup.providers.email.base import EmailSender, OutgoingEmail
from topup.providers.sms.base import OutgoingSms, SmsSender

# A send is cut off after SEND_TIMEOUT, well inside the lease renewed just before it, so a
# live send is never taken over by a second worker.
LEASE = timedelta(seconds=60)
SEND_TIMEOUT_SECONDS = 40.0
BATCH = 50
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# Once sent or dead, these keep no personal data: the goodbye email of a deleted account.
ERASE_ONCE_SENT = frozenset({"account_deleted"})
# These carry a secret (the SMS code, the reset link's token) that the database otherwise
# keeps only as an HMAC or a SHA-256. Once a real provider has delivered one, its text
# goes: a copy of the table must not let anyone confirm a phone or reset a password.
# With the console senders the row *is* the delivery (read at GET /v1/sandbox/messages),
# so the text stays; a dead one stays too, for `topup messages retry`, and its secret
# expires with it (10 minutes, an hour). A voucher's or calling card's PIN (the receipt
# and the recipient's SMS) goes the same way: ``order_pins`` keeps it sealed for the history.
SECRET_ONCE_DELIVERED = frozenset(
    {"phone_verification", "password_reset", "pin_delivered", "pin_received"}
)
OUTBOX_SENDER = "console"

log = structlog.get_logger("topup.worker")
DELIVERIES = Counter(
    "topup_messages_total", "Outbox delivery attempts by outcome", ["channel", "outcome"]
)


@dataclass(frozen=True)
class NotificationDeps:
    session_factory: async_sessionmaker[AsyncSession]
    email: EmailSender
    sms: SmsSender


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to send one message, read while it was claimed."""

    id: str
    attempt: int
    channel: Channel
    recipient: str | None
    subject: str | None
    body: str | None
    html_body: str | None
    expires_at: datetime | None


def retry_delay(attempt: int) -> timedelta:
    """30 s after the first failure, doubling up to an hour: about 3 h over 10 tries."""
    return min(FIRST_RETRY * (1 << max(attempt - 1, 0)), LONGEST_RETRY)


async def claim_due(deps: NotificationDeps, *, limit: int = BATCH) -> list[Claimed]:
    async with unit_of_work(deps.session_factory) as session:
        repository = MessageRepository(session)
        skip_locked = session.get_bind().dialect.name == "postgresql"
        now = clock.now()
        claimed = []
        for message_id in await repository.due_ids(now, limit=limit, skip_locked=skip_locked):
            row = await repository.take(message_id, now=now, lease_until=now + LEASE)
            if row is not None:
                claimed.append(_claimed(row))
        return claimed


async def deliver(deps: NotificationDeps, message: Claimed) -> None:
    if message.recipient is None or message.body is None:
        await _record(deps, message, failure=DeliveryFailed("erased", permanent=True))
        return
    if message.expires_at is not None and clock.now() >= message.expires_at:
        await _record(deps, message, failure=DeliveryFailed("expired", permanent=True))
        return
    if message.attempt > MAX_ATTEMPTS:  # it kept dying mid-send: stop trying
        await _record(deps, message, failure=DeliveryFailed("out of attempts", permanent=True))
        return
    if not await _renew_lease(deps, message):
        return  # its lease lapsed while earlier messages of the batch were sent
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            reference = await _send(deps, message, message.recipient, message.body)
    except DeliveryFailed as failure:
        await _record(deps, message, failure=failure)
        return
    except TimeoutError:
        # Unknown whether it went: the next attempt goes under the same identity.
        await _record(deps, message, failure=DeliveryFailed("timed out", permanent=False))
        return
    faults.checkpoint("message.sent")
    await _record(deps, message, reference=reference)


async def run_due(deps: NotificationDeps, *, limit: int = BATCH) -> int:
    """One round: every due message gets one attempt. Returns how many were tried."""
    claimed = await claim_due(deps, limit=limit)
    for message in claimed:
        try:
            await deliver(deps, message)
        except Exception:  # one broken message must not stop the others; its lease lapses
            log.exception("message_delivery_failed", message_id=message.id)
    return len(claimed)


async def _renew_lease(deps: NotificationDeps, message: Claimed) -> bool:
    async with unit_of_work(deps.session_factory) as session:
        return await MessageRepository(session).extend(
            message.id, attempt=message.attempt, lease_until=clock.now() + LEASE
        )


async def _send(deps: NotificationDeps, message: Claimed, recipient: str, body: str) -> str:
    if message.channel is Channel.sms:
        return await deps.sms.send(OutgoingSms(message_id=message.id, to=recipient, body=body))
    return await deps.email.send(
        OutgoingEmail(
            message_id=message.id,
            to=recipient,
            subject=message.subject or "",
            text=body,
            html=message.html_body,
        )
    )


async def _record(
    deps: NotificationDeps,
    message: Claimed,
    *,
    reference: str | None = None,
    failure: DeliveryFailed | None = None,
) -> None:
    async with unit_of_work(deps.session_factory) as session:
        row = await MessageRepository(session).message(message.id, for_update=True)
        if row is None or row.status != MessageStatus.sending or row.attempts != message.attempt:
            return  # the lease lapsed and another worker has taken the message over
        now = clock.now()
        if failure is None:
            _mark_sent(row, reference)
            if row.kind in SECRET_ONCE_DELIVERED and _sender_of(deps, row).name != OUTBOX_SENDER:
                row.body = row.html_body = None
        elif failure.permanent or row.attempts >= MAX_ATTEMPTS:
            _mark_dead(row, failure.reason)
        else:
            row.status = MessageStatus.pending.value
            row.last_error = failure.reason[:200]
            row.due_at = now + retry_delay(row.attempts)
        outcome = "sent" if failure is None else row.status
        DELIVERIES.labels(channel=row.channel, outcome=outcome).inc()


def _sender_of(deps: NotificationDeps, row: OutboundMessage) -> SmsSender | EmailSender:
    return deps.sms if row.channel == Channel.sms else deps.email


def _mark_sent(row: OutboundMessage, reference: str | None) -> None:
    row.status = MessageStatus.sent.value
    row.sent_at = clock.now()
    # A reference longer than its column must not fail the record of a send that happened.
    row.provider_reference = reference[:120] if reference else None
    row.last_error = None
    _erase_if_done(row)


def _mark_dead(row: OutboundMessage, reason: str) -> None:
    row.status = MessageStatus.dead.value
    row.last_error = reason[:200]
    # The reason may quote the address or number, so the log line leaves it out.
    log.warning("message_dead", message_id=row.id, kind=row.kind, attempts=row.attempts)
    _erase_if_done(row)


def _erase_if_done(row: OutboundMessage) -> None:
    if row.kind in ERASE_ONCE_SENT:
        row.recipient = row.subject = row.body = row.html_body = row.last_error = None


def _claimed(row: OutboundMessage) -> Claimed:
    return Claimed(
        id=row.id,
        attempt=row.attempts,
        channel=Channel(row.channel),
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        html_body=row.html_body,
        expires_at=row.expires_at,
    )
