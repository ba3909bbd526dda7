"""Sandbox payments behave like Stripe's manual-capture PaymentIntents, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from topup.kit import clock
from topup.kit.db import create_session_factory
from topup.kit.money import Money
from topup.providers.payments.base import AuthorizationStatus, CardDetails, PaymentStateError
from topup.providers.payments.sandbox import SandboxGateway
from topup.providers.payments.sandbox_models import SandboxPayment

NEXT_YEAR = clock.now().year + 1
TEN_EUROS = Money(1000, "EUR")


@pytest.fixture
def gateway(empty_engine: AsyncEngine) -> SandboxGateway:
    return SandboxGateway(create_session_factory(empty_engine))


async def token_for(gateway: SandboxGateway, number: str) -> str:
    return (await gateway.tokenize(CardDetails(number, 12, NEXT_YEAR, "123"))).token


async def stored(empty_engine: AsyncEngine, reference: str) -> SandboxPayment:
    async with create_session_factory(empty_engine)() as session:
        payment = await session.get(SandboxPayment, reference)
        assert payment is not None
        return payment


@pytest.mark.parametrize(
    ("number", "status", "decline_code"),
    [
        ("4242424242424242", AuthorizationStatus.authorized, None),
        ("5555555555554444", AuthorizationStatus.authorized, None),
        ("4000000000000002", AuthorizationStatus.declined, "card_declined"),
        ("4000000000009995", AuthorizationStatus.declined, "insufficient_funds"),
        ("4000000000000069", AuthorizationStatus.declined, "expired_card"),
        ("4100000000000019", AuthorizationStatus.declined, "fraudulent"),
    ],
)
async def test_each_test_card_authorizes_as_stripe_says(
    gateway: SandboxGateway, number: str, status: AuthorizationStatus, decline_code: str | None
) -> None:
    token = await token_for(gateway, number)
    result = await gateway.authorize(token, TEN_EUROS, idempotency_key="order-1")
    assert (result.status, result.decline_code) == (status, decline_code)


async def test_a_token_never_issued_is_declined(gateway: SandboxGateway) -> None:
    result = await gateway.authorize("tok_forged", TEN_EUROS, idempotency_key="k")
    assert result.status is AuthorizationStatus.declined


async def test_the_same_key_is_one_hold_even_at_once(
    gateway: SandboxGateway, empty_engine: AsyncEngine
) -> None:
    token = await token_for(gateway, "4242424242424242")
    results = await asyncio.gather(
        *(gateway.authorize(token, TEN_EUROS, idempotency_key="order-1") for _ in range(10))
    )
    assert len({result.reference for result in results}) == 1
    async with create_session_factory(empty_engine)() as session:
        assert await session.scalar(select(func.count()).select_from(SandboxPayment)) == 1


async def test_capture_takes_at_most_the_hold_and_can_be_repeated(
    gateway: SandboxGateway, empty_engine: AsyncEngine
) -> None:
    token = await token_for(gateway, "4242424242424242")
    hold = await gateway.authorize(token, TEN_EUROS, idempotency_key="order-1")
    with pytest.raises(PaymentStateError):
        await gateway.capture(hold.reference, Money(1001, "EUR"))
    await gateway.capture(hold.reference, Money(800, "EUR"))
    await gateway.capture(hold.reference, Money(800, "EUR"))  # a retried step: harmless
    payment = await stored(empty_engine, hold.reference)
    assert (payment.status, payment.captured) == ("captured", 800)
    with pytest.raises(PaymentStateError):
        await gateway.void(hold.reference)


async def test_void_releases_and_then_nothing_can_be_captured(
    gateway: SandboxGateway, empty_engine: AsyncEngine
) -> None:
    token = await token_for(gateway, "4242424242424242")
    hold = await gateway.authorize(token, TEN_EUROS, idempotency_key="order-1")
    await gateway.void(hold.reference)
    await gateway.void(hold.reference)
    assert (await stored(empty_engine, hold.reference)).status == "voided"
    with pytest.raises(PaymentStateError):
        await gateway.capture(hold.reference, TEN_EUROS)


async def test_refunds_never_exceed_the_capture_and_count_once_per_key(
    gateway: SandboxGateway, empty_engine: AsyncEngine
) -> None:
    token = await token_for(gateway, "4242424242424242")
    hold = await gateway.authorize(token, TEN_EUROS, idempotency_key="order-1")
    await gateway.capture(hold.reference, TEN_EUROS)
    await gateway.refund(hold.reference, Money(600, "EUR"), idempotency_key="refund-1")
    await gateway.refund(hold.reference, Money(600, "EUR"), idempotency_key="refund-1")
    with pytest.raises(PaymentStateError):
        await gateway.refund(hold.reference, Money(401, "EUR"), idempotency_key="refund-2")
    await gateway.refund(hold.reference, Money(400, "EUR"), idempotency_key="refund-3")
    assert (await stored(empty_engine, hold.reference)).refunded == 1000


async def test_the_same_refund_sent_twice_at_once_refunds_once(
    gateway: SandboxGateway, empty_engine: AsyncEngine
) -> None:
    """Two workers paying one refund at once: Stripe answers the second call with the
    first refund, and so does the sandbox, on both databases."""
    token = await token_for(gateway, "4242424242424242")
    hold = await gateway.authorize(token, TEN_EUROS, idempotency_key="order-1")
    await gateway.capture(hold.reference, TEN_EUROS)

    await asyncio.gather(
        *(gateway.refund(hold.reference, TEN_EUROS, idempotency_key="refund-1") for _ in range(3))
    )

    assert (await stored(empty_engine, hold.reference)).refunded == 1000


async def test_a_declined_payment_cannot_be_captured(gateway: SandboxGateway) -> None:
    token = await token_for(gateway, "4000000000000002")
    declined = await gateway.authorize(token, TEN_EUROS, idempotency_key="order-1")
    with pytest.raises(PaymentStateError):
        await gateway.capture(declined.reference, TEN_EUROS)
