"""A buyer with an email address (the receipt goes there), and PIN orders run to their end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.fixtures.customers import logged_in_customer
from tests.orders.conftest import FINAL, order_body, order_of, place, settle
from topup.accounts.models import Customer
from topup.kit.db import unit_of_work
from topup.notifications.models import OutboundMessage
from topup.runtime import Runtime

VOUCHER = "ng-mtn-voucher-20000"  # ₦20,000
CALLING_CARD = "ng-mtn-calling-card-10000"  # ₦10,000
DELIVERED = "+2348031234567"
LATER = "+2348031230002"  # pending, then delivered at the first status check

Headers = dict[str, str]


@dataclass(frozen=True, slots=True)
class Buyer:
    id: str
    email: str
    headers: Headers


MakeBuyer = Callable[[], Awaitable[Buyer]]


@pytest.fixture
def pin_buyer(runtime: Runtime) -> MakeBuyer:
    async def make() -> Buyer:
        made = await logged_in_customer(runtime)
        email = f"{made.id}@example.com"
        async with unit_of_work(runtime.session_factory) as session:
            customer = await session.get(Customer, made.id)
            assert customer is not None
            customer.email = email
        return Buyer(made.id, email, made.headers)

    return make


async def bought(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer, product_id: str, phone: str
) -> dict[str, Any]:
    """An order of ``product_id`` placed and run to its end; its answer."""
    placed = await place(client, buyer.headers, order_body(phone, product_id=product_id))
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    for _ in range(4):
        order = await order_of(client, buyer.headers, order["id"])
        if order["status"] in FINAL:
            break
        await settle(runtime, rounds=3)
    return order


async def messages_of(runtime: Runtime, order_id: str) -> list[OutboundMessage]:
    """The outbox rows queued for one order (their dedupe keys start with its id)."""
    async with runtime.session_factory() as session:
        query = select(OutboundMessage).where(OutboundMessage.dedupe_key.like(f"{order_id}:%"))
        return list((await session.scalars(query.order_by(OutboundMessage.kind))).all())
