"""Shared by the notification tests: customers to own messages, unique recipients, reads,
production settings."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.accounts.models import Customer, CustomerStatus, Role
from topup.config import Environment, Settings
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.notifications import service
from topup.notifications.models import Channel, OutboundMessage


def production(settings: Settings) -> Settings:
    """The test settings with env=production. Validation would refuse the sandbox providers
    (rightly); copying skips it, which is all the endpoint's check needs."""
    copied = settings.model_copy(update={"env": Environment.production})
    assert copied.is_sandbox is False
    return copied


def unique_phone() -> str:
    """An E.164 number no other test uses (the databases are shared by the session)."""
    return f"+4479{secrets.randbelow(10**8):08d}"


def unique_email() -> str:
    return f"someone-{secrets.token_hex(5)}@example.com"


async def new_customer(sessions: async_sessionmaker[AsyncSession]) -> Customer:
    """A stored customer with a unique phone and email, for messages to belong to."""
    email = unique_email()
    customer = Customer(
        id=new_id("cus"),
        first_name="Ada",
        last_name="Okafor",
        email=email,
        email_key=email,
        phone=unique_phone(),
        status=CustomerStatus.active.value,
        role=Role.customer.value,
        language="en",
        created_at=clock.now(),
    )
    async with unit_of_work(sessions) as session:
        session.add(customer)
    return customer


async def send(
    sessions: async_sessionmaker[AsyncSession],
    *,
    recipient: str,
    channel: Channel = Channel.sms,
    body: str = "Your Topup code is 123456.",
    subject: str | None = None,
    customer_id: str | None = None,
    kind: str = "test",
) -> OutboundMessage:
    """Enqueue one message in its own committed unit of work, one second after the last."""
    clock.advance(1)  # every message gets its own created_at, so the order is certain
    async with unit_of_work(sessions) as session:
        return service.enqueue(
            session,
            channel=channel,
            recipient=recipient,
            body=body,
            subject=subject,
            customer_id=customer_id,
            kind=kind,
        )


async def stored(
    sessions: async_sessionmaker[AsyncSession], message_id: str
) -> OutboundMessage | None:
    async with sessions() as session:
        found: OutboundMessage | None = await session.scalar(
            select(OutboundMessage).where(OutboundMessage.id == message_id)
        )
        return found
