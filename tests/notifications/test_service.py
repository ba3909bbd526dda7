"""The outbox on both databases: a message exists exactly when its transaction commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.notifications.support import new_customer, send, stored, unique_email, unique_phone
from topup.accounts.models import Customer
from topup.kit import clock
from topup.kit.db import create_session_factory, unit_of_work
from topup.notifications import service
from topup.notifications.models import Channel, MessageStatus, OutboundMessage
from topup.notifications.repository import MessageRepository


class Boom(Exception):
    pass


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def count_to(sessions: async_sessionmaker[AsyncSession], recipient: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(OutboundMessage.recipient == recipient)
        return int(await session.scalar(query) or 0)


async def test_enqueue_writes_a_pending_row_when_the_transaction_commits(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    address = unique_email()
    clock.advance(3600)  # the outbox reads the service's clock, not the system's
    before = clock.now()

    async with unit_of_work(sessions) as session:
        message = service.enqueue(
            session,
            channel=Channel.email,
            recipient=address,
            subject="Reset your Topup password",
            body="Open this link.",
            kind="password_reset",
        )
        assert message in session.new  # part of the caller's unit of work, not yet written
        assert await stored(sessions, message.id) is None

    row = await stored(sessions, message.id)
    assert row is not None
    assert message.id.startswith("msg_")
    assert (row.channel, row.recipient, row.subject, row.body, row.kind) == (
        "email",
        address,
        "Reset your Topup password",
        "Open this link.",
        "password_reset",
    )
    assert row.customer_id is None
    assert row.status == MessageStatus.pending.value
    assert row.attempts == 0
    assert row.sent_at is None
    assert row.due_at == row.created_at
    assert before <= row.created_at <= clock.now()
    assert row.created_at - before < timedelta(minutes=1)


async def test_a_message_belongs_to_its_customer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer = await new_customer(sessions)
    assert customer.phone is not None

    message = await send(sessions, recipient=customer.phone, customer_id=customer.id)

    row = await stored(sessions, message.id)
    assert row is not None
    assert (row.channel, row.customer_id, row.subject) == ("sms", customer.id, None)


@pytest.mark.parametrize("flushed", [False, True], ids=["pending", "flushed"])
async def test_nothing_is_written_when_the_transaction_rolls_back(
    sessions: async_sessionmaker[AsyncSession], flushed: bool
) -> None:
    phone = unique_phone()

    async def enqueue_then_fail() -> OutboundMessage:
        async with unit_of_work(sessions) as session:
            message = service.enqueue(
                session, channel=Channel.sms, recipient=phone, body="lost", kind="test"
            )
            if flushed:
                await session.flush()
                assert await session.get(OutboundMessage, message.id) is message
            raise Boom

    with pytest.raises(Boom):
        await enqueue_then_fail()

    assert await count_to(sessions, phone) == 0


async def test_the_message_commits_and_rolls_back_with_the_event_behind_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The customer and its message go together: neither exists without the other."""
    customer = await new_customer(sessions)
    assert customer.phone is not None
    phone = unique_phone()

    async def change_phone_then_fail() -> None:
        async with unit_of_work(sessions) as session:
            stored_customer = await session.get(Customer, customer.id)
            assert stored_customer is not None
            stored_customer.phone = phone
            service.enqueue(
                session,
                channel=Channel.sms,
                recipient=phone,
                body="Your number changed.",
                kind="test",
                customer_id=customer.id,
            )
            await session.flush()
            raise Boom

    with pytest.raises(Boom):
        await change_phone_then_fail()

    async with sessions() as session:
        unchanged = await session.get(Customer, customer.id)
        assert unchanged is not None
        assert unchanged.phone == customer.phone
    assert await count_to(sessions, phone) == 0


async def test_erase_for_customer_blanks_only_that_customers_messages(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    erased, kept = await new_customer(sessions), await new_customer(sessions)
    assert erased.phone is not None
    assert erased.email is not None
    assert kept.phone is not None
    assert kept.email is not None
    erased_messages = [
        await send(sessions, recipient=erased.phone, customer_id=erased.id),
        await send(
            sessions,
            channel=Channel.email,
            recipient=erased.email,
            subject="Welcome",
            body="Hello Ada",
            customer_id=erased.id,
        ),
    ]
    kept_messages = [
        await send(sessions, recipient=kept.phone, customer_id=kept.id),
        await send(
            sessions,
            channel=Channel.email,
            recipient=kept.email,
            subject="Welcome",
            body="Hello Ada",
            customer_id=kept.id,
        ),
        await send(sessions, recipient=erased.phone),  # nobody's: not the customer's row
    ]

    async with unit_of_work(sessions) as session:
        await MessageRepository(session).erase_for_customer(erased.id)

    for message in erased_messages:
        row = await stored(sessions, message.id)
        assert row is not None
        assert (row.recipient, row.subject, row.body) == (None, None, None)
        # What is not personal stays, so the outbox still counts what was sent.
        assert (row.channel, row.kind, row.customer_id, row.status) == (
            message.channel,
            "test",
            erased.id,
            "pending",
        )
    for message in kept_messages:
        row = await stored(sessions, message.id)
        assert row is not None
        assert (row.recipient, row.subject, row.body) == (
            message.recipient,
            message.subject,
            message.body,
        )


async def test_erased_messages_are_not_listed(sessions: async_sessionmaker[AsyncSession]) -> None:
    customer = await new_customer(sessions)
    assert customer.phone is not None
    await send(sessions, recipient=customer.phone, customer_id=customer.id)
    async with sessions() as session:
        listed = await MessageRepository(session).newest(recipient=customer.phone, limit=10)
        assert len(listed) == 1

    async with unit_of_work(sessions) as session:
        await MessageRepository(session).erase_for_customer(customer.id)

    async with sessions() as session:
        repository = MessageRepository(session)
        assert await repository.newest(recipient=customer.phone, limit=10) == []
        newest = await repository.newest(recipient=None, limit=200)
        assert all(row.recipient is not None for row in newest)
        assert all(row.customer_id != customer.id for row in newest)


async def test_newest_lists_one_recipients_messages_newest_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    phone = unique_phone()
    sent = [await send(sessions, recipient=phone, body=f"message {n}") for n in range(3)]
    await send(sessions, recipient=unique_phone(), body="someone else's")

    async with sessions() as session:
        repository = MessageRepository(session)
        listed = await repository.newest(recipient=phone, limit=10)
        limited = await repository.newest(recipient=phone, limit=2)

    assert [row.id for row in listed] == [message.id for message in reversed(sent)]
    assert [row.id for row in limited] == [sent[2].id, sent[1].id]


async def test_erase_for_customer_also_blanks_messages_of_the_same_unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer = await new_customer(sessions)
    assert customer.phone is not None

    async with unit_of_work(sessions) as session:
        message = service.enqueue(
            session,
            channel=Channel.sms,
            recipient=customer.phone,
            body="Your Topup code is 123456.",
            kind="phone_verification",
            customer_id=customer.id,
        )
        await MessageRepository(session).erase_for_customer(customer.id)

    row = await stored(sessions, message.id)
    assert row is not None
    assert (row.recipient, row.subject, row.body) == (None, None, None)


async def test_dead_messages_can_be_queued_again_with_fresh_attempts(
    empty_engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(empty_engine)
    dead = [await send(sessions, recipient=unique_phone()) for _ in range(3)]
    async with unit_of_work(sessions) as session:
        for message in dead:
            row = await session.get(OutboundMessage, message.id)
            assert row is not None
            row.status, row.attempts = MessageStatus.dead.value, 10
        erased = await session.get(OutboundMessage, dead[2].id)
        assert erased is not None
        erased.recipient = erased.body = None

    async with unit_of_work(sessions) as session:
        assert await service.requeue_dead(session, [dead[0].id]) == 1
    async with unit_of_work(sessions) as session:
        assert await service.requeue_dead(session, None) == 1  # the erased one stays dead
        counts = await service.delivery_counts(session)

    assert [(row.channel, row.status, row.count) for row in counts] == [
        ("sms", "dead", 1),
        ("sms", "pending", 2),
    ]
    for message in dead[:2]:
        row = await stored(sessions, message.id)
        assert row is not None
        assert (row.status, row.attempts) == (MessageStatus.pending, 0)
        assert row.due_at <= clock.now()
