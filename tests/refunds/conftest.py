"""People, orders and refund requests for the refund tests, on the shared databases.

Several tests share one database per backend, so every assertion is about the test's own
orders and requests, never about counts of the whole table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from tests.fixtures.customers import fresh_headers, logged_in_customer
from tests.orders.conftest import FINAL, order_body, place, settle
from topup.accounts.models import Role
from topup.kit import faults
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.ledger.checks import check_ledger
from topup.orders.models import Order
from topup.providers.suppliers.simulator_models import SimulatedTopup
from topup.refunds.models import RefundRequest
from topup.refunds.policy import BusinessCalendar
from topup.runtime import Runtime

Headers = dict[str, str]
SUCCEEDS = "+2348031234567"
FAILS = "+2348031230001"  # the simulator fails numbers ending 0001 at once


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    headers: Headers


MakePerson = Callable[..., Awaitable[Person]]


@pytest.fixture
def person(runtime: Runtime) -> MakePerson:
    """A verified account with a bearer token; ``role`` "support" or "admin" for staff."""

    async def make(role: str = Role.customer.value) -> Person:
        made = await logged_in_customer(runtime, role=role)
        return Person(made.id, made.headers)

    return make


async def sign_in(runtime: Runtime, customer_id: str) -> Headers:
    """A new bearer token for an account, as after the clock moved past the old one's life."""
    return await fresh_headers(runtime, customer_id)


@pytest.fixture(autouse=True)
def _no_armed_faults() -> Iterator[None]:
    yield
    faults.disarm()


async def settled_order(
    client: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    phone: str = SUCCEEDS,
    **extra: Any,
) -> dict[str, Any]:
    """An order placed and run by the worker to its end; its final view."""
    placed = await place(client, headers, order_body(phone, **extra))
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = {}
    for _ in range(3):  # the request's own fast path usually ends the order already
        response = await client.get(f"/v1/orders/{placed.json()['id']}", headers=headers)
        assert response.status_code == 200, response.text
        order = response.json()
        if order["status"] in FINAL:
            break
        await settle(runtime, rounds=4)
    return order


async def delivered_order(
    client: httpx.AsyncClient, runtime: Runtime, headers: Headers, **extra: Any
) -> dict[str, Any]:
    order = await settled_order(client, runtime, headers, **extra)
    assert (order["status"], order["payment"]["status"]) == ("succeeded", "captured")
    return order


def refund_body(
    order_id: str,
    *,
    reason: str = "not_delivered",
    destination: str = "wallet",
    amount: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"order_id": order_id, "reason": reason, "destination": destination}
    if amount is not None:
        body["amount"] = {"amount": amount, "currency": "EUR"}
    return body | extra


async def preview(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/v1/refund-requests/preview", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def ask(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/refund-requests",
        json=body,
        headers=headers | {"Idempotency-Key": key or new_id("key")},
    )


async def asked(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any]
) -> dict[str, Any]:
    """A request that must be accepted; its answer."""
    response = await ask(client, headers, body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def refused_by(response: httpx.Response) -> tuple[int, str, str, str | None]:
    """(status, error code, the rule named in the message, field) of a refusal."""
    error = response.json()["error"]
    message: str = error["message"]
    rule = message.rsplit("(rule: ", 1)[-1].rstrip(")") if "(rule: " in message else ""
    return response.status_code, error["code"], rule, error.get("field")


async def set_order(runtime: Runtime, order_id: str, **values: Any) -> None:
    """Change an order's row directly (a product type the catalogue does not sell yet)."""
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(update(Order).where(Order.id == order_id).values(**values))


async def stored_order(runtime: Runtime, order_id: str) -> Order:
    async with runtime.session_factory() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def stored_requests(runtime: Runtime, order_id: str) -> list[RefundRequest]:
    async with runtime.session_factory() as session:
        query = select(RefundRequest).where(RefundRequest.order_id == order_id)
        return list((await session.scalars(query)).all())


async def supplier_forgets(runtime: Runtime, order_id: str) -> None:
    """The supplier no longer has the top-up: its status answers not_found."""
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(delete(SimulatedTopup).where(SimulatedTopup.reference == order_id))


async def assert_ledger_clean(runtime: Runtime) -> None:
    async with runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []


def business_days_after(calendar: BusinessCalendar, start: date, end: date) -> int:
    """How many business days fall after ``start``, up to and including ``end``."""
    count, day = 0, start
    while day < end:
        day = date.fromordinal(day.toordinal() + 1)
        count += calendar.is_business_day(day)
    return count


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
