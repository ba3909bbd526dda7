"""What the risk tests share: rule edits, numbers and cards, and reading what was stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from tests.orders.conftest import Headers
from topup.accounts.models import Customer
from topup.accounts.sessions import issue_token
from topup.kit.db import unit_of_work
from topup.orders.models import Order
from topup.providers.payments.sandbox_models import SandboxPayment
from topup.risk.models import FraudSignalRule, LimitRule, RiskDecision
from topup.runtime import Runtime

FR_CARD = "4000002500000003"  # a sandbox test card issued in France; it pays
IT_CARD = "4000003800000008"  # issued in Italy; it pays
DECLINED_CARD = "4000000000000002"


def nigerian(index: int) -> str:
    """An MTN Nigeria number the simulator tops up at once (it never ends in 0001-0009)."""
    return f"+23480312{index:03d}66"


def italian(index: int) -> str:
    """A TIM number the simulator tops up at once."""
    return f"+39333{index:05d}66"


def visa(index: int) -> str:
    """A distinct Luhn-valid Visa number per ``index``; the sandbox takes it as an American
    card that pays, with a fingerprint of its own."""
    payload = f"4111{index:011d}"
    total = 0
    for position, character in enumerate(reversed(payload)):
        value = int(character) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return payload + str((10 - total % 10) % 10)


async def set_limit(runtime: Runtime, rule_id: str, **fields: Any) -> None:
    async with unit_of_work(runtime.session_factory) as session:
        rule = await session.get(LimitRule, rule_id)
        assert rule is not None, rule_id
        for name, value in fields.items():
            setattr(rule, name, value)


async def set_signal(runtime: Runtime, signal_id: str, **fields: Any) -> None:
    async with unit_of_work(runtime.session_factory) as session:
        rule = await session.get(FraudSignalRule, signal_id)
        assert rule is not None, signal_id
        for name, value in fields.items():
            setattr(rule, name, value)


async def log_in_again(runtime: Runtime, customer_id: str) -> Headers:
    """A new bearer token for a customer whose token the moved clock has expired."""
    async with unit_of_work(runtime.session_factory) as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        issued = issue_token(session, runtime.accounts, customer)
    return {"Authorization": f"Bearer {issued.token}"}


async def stored_order(runtime: Runtime, order_id: str) -> Order:
    async with runtime.session_factory() as session:
        order = await session.get(Order, order_id)
    assert order is not None, order_id
    return order


async def orders_of(runtime: Runtime, customer_id: str) -> Sequence[Order]:
    async with runtime.session_factory() as session:
        query = select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
        return (await session.scalars(query)).all()


async def sandbox_payments_of(runtime: Runtime, order_id: str) -> Sequence[SandboxPayment]:
    """What the sandbox gateway recorded for an order (its keys start with the order id)."""
    async with runtime.session_factory() as session:
        query = select(SandboxPayment).where(SandboxPayment.idempotency_key.startswith(order_id))
        return (await session.scalars(query)).all()


async def order_decisions(runtime: Runtime, customer_id: str) -> Sequence[RiskDecision]:
    async with runtime.session_factory() as session:
        query = select(RiskDecision).where(
            RiskDecision.kind == "order", RiskDecision.customer_id == customer_id
        )
        return (await session.scalars(query)).all()
