"""A subscriber with an email address and a saved card, and helpers that subscribe, move
the clock to a given moment and run the worker's rounds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.accounts.helpers import new_email, new_phone
from tests.fixtures.customers import fresh_headers, logged_in_customer
from topup.accounts.models import Customer
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.notifications.models import OutboundMessage
from topup.orders.models import Order
from topup.runtime import Runtime
from topup.subscriptions.models import SubscriptionCharge
from topup.worker import run_round

PLAN = "ng-mtn-plan-25000"
# The sandbox refuses an expired card, and these tests move the clock years ahead.
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2090, "cvc": "123"}


@dataclass
class Subscriber:
    id: str
    card_id: str
    runtime: Runtime
    http: httpx.AsyncClient

    async def headers(self) -> dict[str, str]:
        """A token valid now: the clock moves past a token's life in these tests."""
        return await fresh_headers(self.runtime, self.id)

    async def subscribe(self, phone: str, **changes: Any) -> httpx.Response:
        body = {"plan_id": PLAN, "recipient_phone": phone, "card_id": self.card_id} | changes
        headers = await self.headers() | {"Idempotency-Key": new_id("key")}
        response = await self.http.post("/v1/subscriptions", json=body, headers=headers)
        await self.runtime.detached.settle()  # the first charge's fast path, to its end
        return response

    async def get(self, subscription_id: str) -> dict[str, Any]:
        response = await self.http.get(
            f"/v1/subscriptions/{subscription_id}", headers=await self.headers()
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def cancel(self, subscription_id: str) -> httpx.Response:
        return await self.http.delete(
            f"/v1/subscriptions/{subscription_id}", headers=await self.headers()
        )


@pytest.fixture
def subscriber(runtime: Runtime, client: httpx.AsyncClient) -> Callable[..., Awaitable[Subscriber]]:
    async def make(card: dict[str, Any] | None = None, password: str | None = None) -> Subscriber:
        hashed = None if password is None else await runtime.accounts.passwords.hash(password)
        made = await logged_in_customer(runtime, password_hash=hashed)
        async with unit_of_work(runtime.session_factory) as session:
            customer = await session.get(Customer, made.id)
            assert customer is not None
            customer.email = new_email()
        saved = await client.post("/v1/cards", json=card or CARD, headers=made.headers)
        assert saved.status_code == 201, saved.text
        return Subscriber(made.id, saved.json()["id"], runtime, client)

    return make


def recipient() -> str:
    """An MTN Nigeria number the simulator tops up at once (never one ending 0001-0009)."""
    while True:
        phone = new_phone("NG")
        if phone[-4:-1] != "000":
            return phone


def at(year: int, month: int, day: int, *time: int) -> datetime:
    """A moment in UTC: ``at(2027, 1, 31, 23, 59, 59)``."""
    hour, minute, second = (*time, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def move_to(moment: datetime) -> None:
    """Set the clock to ``moment`` (it only moves forward) and keep it there. A still
    clock, not one that follows the wall clock from ``moment``: the worker's round meets
    every due row the session's earlier tests left (schedules due long ago, orders in
    flight), and at 23:59:59 a round that lasts a second would bill the next month."""
    clock.stop()
    clock.advance((moment - clock.now()).total_seconds())


async def work(runtime: Runtime, *, rounds: int = 3) -> None:
    """The worker's rounds, with the clock still: whatever is due now is done."""
    for _ in range(rounds):
        await run_round(runtime)
        await runtime.detached.settle()


async def charges(runtime: Runtime, subscription_id: str) -> list[SubscriptionCharge]:
    async with runtime.session_factory() as session:
        query = (
            select(SubscriptionCharge)
            .where(SubscriptionCharge.subscription_id == subscription_id)
            .order_by(SubscriptionCharge.created_at, SubscriptionCharge.attempt)
        )
        return list((await session.scalars(query)).all())


async def orders_for(runtime: Runtime, customer_id: str) -> list[Order]:
    async with runtime.session_factory() as session:
        query = select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
        return list((await session.scalars(query)).all())


async def emails(runtime: Runtime, customer_id: str, kind: str) -> list[OutboundMessage]:
    async with runtime.session_factory() as session:
        query = select(OutboundMessage).where(
            OutboundMessage.customer_id == customer_id, OutboundMessage.kind == kind
        )
        return list((await session.scalars(query)).all())
