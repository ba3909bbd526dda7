"""An account that may buy, and helpers that place orders and run the worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.customers import logged_in_customer
from topup.kit import clock, faults
from topup.kit.ids import new_id
from topup.orders.models import ACTIVE_STATUSES
from topup.orders.tasks import LEASE, run_due
from topup.runtime import Runtime

Headers = dict[str, str]
NEXT_YEAR = clock.now().year + 1


def card(number: str = "4242424242424242", **changes: Any) -> dict[str, Any]:
    """A new card as a payment; ``changes`` replace its fields (exp_month="12", …)."""
    details = {"number": number, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123"}
    return {"card": details | changes}


def order_body(
    phone: str = "+2348031234567",
    *,
    number: str = "4242424242424242",
    product_id: str = "ng-mtn-2500",
    **extra: Any,
) -> dict[str, Any]:
    return {"recipient_phone": phone, "product_id": product_id, "payment": card(number)} | extra


@pytest.fixture
def buyer(runtime: Runtime) -> Callable[..., Awaitable[Headers]]:
    """A verified customer's bearer header (phone_verified=False for one who is not)."""

    async def make(*, phone_verified: bool = True) -> Headers:
        made = await logged_in_customer(runtime, phone_verified=phone_verified)
        return made.headers

    return make


async def place(
    client: httpx.AsyncClient, headers: Headers, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/orders", json=body, headers=headers | {"Idempotency-Key": key or new_id("key")}
    )


async def settle(runtime: Runtime, *, rounds: int = 12, step_seconds: float = 0) -> None:
    """Run worker rounds, moving the clock past every lease and poll delay between them."""
    for _ in range(rounds):
        await run_due(runtime.order_deps())
        clock.advance(step_seconds or LEASE.total_seconds() + 1)


async def order_of(client: httpx.AsyncClient, headers: Headers, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/orders/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


FINAL = {"succeeded", "failed", "declined", "rejected"}
STILL_MOVING = {status.value for status in ACTIVE_STATUSES}


@pytest.fixture(autouse=True)
def _no_armed_faults() -> Iterator[None]:
    yield
    faults.disarm()
