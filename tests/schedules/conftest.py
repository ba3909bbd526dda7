"""Customers with a saved card, schedules made through the API, and the worker's rounds.

The databases are shared by the session's tests, so every assertion is about the test's
own schedules and orders, never about counts of whole tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.accounts.helpers import new_email, new_phone
from tests.fixtures.customers import fresh_headers
from tests.orders.conftest import NEXT_YEAR
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.policy import email_key
from topup.accounts.sessions import issue_token
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.ledger.checks import check_ledger
from topup.notifications.models import OutboundMessage
from topup.orders.models import Order
from topup.orders.tasks import run_due as run_due_orders
from topup.runtime import Runtime
from topup.schedules.models import Schedule, ScheduleRun
from topup.schedules.tasks import run_due

Headers = dict[str, str]
SUCCEEDS = "+2348031234567"  # MTN Nigeria; the simulator tops it up at once
FAILS = "+2348031230001"  # the simulator's operator rejects numbers ending 0001
PORTED = "+2348031230008"  # the supplier says numbers ending 0008 moved to another operator
VISA = "4242424242424242"
DECLINED = "4000000000000002"  # tokenises and saves; declined when charged


@dataclass(frozen=True)
class Holder:
    """A verified customer with an email address and a saved card."""

    id: str
    email: str
    headers: Headers
    card_id: str


@pytest.fixture(autouse=True)
def _no_armed_faults() -> Iterator[None]:
    yield
    faults.disarm()


async def holder(runtime: Runtime, client: httpx.AsyncClient, *, card: str = VISA) -> Holder:
    email = new_email()
    async with unit_of_work(runtime.session_factory) as session:
        customer = Customer(
            id=new_id("cus"),
            first_name="Ada",
            last_name="Obi",
            email=email,
            email_key=email_key(email),
            phone=new_phone(),
            status=CustomerStatus.active.value,
            role=Role.customer.value,
            language="en",
            country_iso2="NG",
            created_at=clock.now(),
            phone_verified_at=clock.now(),
        )
        session.add(customer)
        await session.flush()
        issued = issue_token(session, runtime.accounts, customer)
    headers = {"Authorization": f"Bearer {issued.token}"}
    details = {"number": card, "exp_month": 12, "exp_year": NEXT_YEAR + 3, "cvc": "123"}
    saved = await client.post("/v1/cards", json=details, headers=headers)
    assert saved.status_code == 201, saved.text
    return Holder(customer.id, email, headers, saved.json()["id"])


async def signed_in_again(runtime: Runtime, who: Holder) -> Holder:
    """The holder with a new token, as after the clock moved past the old one's life."""
    return Holder(who.id, who.email, await fresh_headers(runtime, who.id), who.card_id)


def schedule_body(who: Holder, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient_phone": SUCCEEDS,
        "product_id": "ng-mtn-2500",
        "card_id": who.card_id,
        "every": "7d",
    }
    return body | changes


async def create(client: httpx.AsyncClient, who: Holder, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/schedules", json=schedule_body(who, **changes), headers=who.headers
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def read(client: httpx.AsyncClient, who: Holder, schedule_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/schedules/{schedule_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def rounds(runtime: Runtime, count: int = 3) -> None:
    """Worker rounds for schedules and orders, as ``topup worker`` runs them, each after
    the leases of the one before have lapsed."""
    for _ in range(count):
        await run_due(runtime)
        await run_due_orders(runtime.order_deps())
        clock.advance(121)


async def move_to(moment: datetime) -> None:
    seconds = (moment - clock.now()).total_seconds()
    if seconds > 0:
        clock.advance(seconds)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def orders_of_schedule(runtime: Runtime, schedule_id: str) -> list[Order]:
    async with runtime.session_factory() as session:
        query = (
            select(Order)
            .join(ScheduleRun, ScheduleRun.order_id == Order.id)
            .where(ScheduleRun.schedule_id == schedule_id)
            .order_by(Order.created_at)
        )
        return list((await session.scalars(query)).all())


async def orders_of_customer(runtime: Runtime, customer_id: str) -> list[Order]:
    async with runtime.session_factory() as session:
        query = select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
        return list((await session.scalars(query)).all())


async def runs_of(runtime: Runtime, schedule_id: str) -> list[ScheduleRun]:
    async with runtime.session_factory() as session:
        query = (
            select(ScheduleRun)
            .where(ScheduleRun.schedule_id == schedule_id)
            .order_by(ScheduleRun.due_at, ScheduleRun.attempt)
        )
        return list((await session.scalars(query)).all())


async def stored(runtime: Runtime, schedule_id: str) -> Schedule:
    async with runtime.session_factory() as session:
        schedule = await session.get(Schedule, schedule_id)
    assert schedule is not None
    return schedule


async def emails_to(runtime: Runtime, address: str, kind: str) -> list[OutboundMessage]:
    async with runtime.session_factory() as session:
        query = select(OutboundMessage).where(
            OutboundMessage.recipient == address, OutboundMessage.kind == kind
        )
        return list((await session.scalars(query)).all())


async def assert_ledger_clean(runtime: Runtime) -> None:
    async with runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []
