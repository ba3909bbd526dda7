"""Every simulator outcome and every sandbox card, end to end, on both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.orders.conftest import Headers, order_body, order_of, place, settle
from topup.kit import clock
from topup.ledger.checks import check_ledger
from topup.orders.models import Order
from topup.runtime import Runtime


async def assert_ledger_clean(runtime: Runtime) -> None:
    async with runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []


@pytest.mark.parametrize(
    ("phone", "status", "payment", "failure"),
    [
        ("+2348031234567", "succeeded", "captured", None),
        ("+2348031230001", "failed", "voided", "operator_rejected"),
        ("+2348031230002", "succeeded", "captured", None),
        ("+2348031230003", "failed", "voided", "operator_rejected"),
        ("+2348031230005", "succeeded", "captured", None),
    ],
)
async def test_each_supplier_outcome_ends_captured_iff_delivered(
    client: httpx.AsyncClient,
    runtime: Runtime,
    buyer: Callable[..., Awaitable[Headers]],
    phone: str,
    status: str,
    payment: str,
    failure: str | None,
) -> None:
    headers = await buyer()
    placed = await place(client, headers, order_body(phone))
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "created"
    await settle(runtime)
    order = await order_of(client, headers, placed.json()["id"])
    assert (order["status"], order["payment"]["status"], order.get("failure_code")) == (
        status,
        payment,
        failure,
    )
    await assert_ledger_clean(runtime)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
        ("4100000000000019", "fraudulent"),
    ],
)
async def test_each_declining_card_ends_declined_with_its_code(
    client: httpx.AsyncClient,
    runtime: Runtime,
    buyer: Callable[..., Awaitable[Headers]],
    number: str,
    code: str,
) -> None:
    headers = await buyer()
    placed = await place(client, headers, order_body(number=number))
    await settle(runtime, rounds=2)
    order = await order_of(client, headers, placed.json()["id"])
    assert (order["status"], order["payment"]["status"], order["failure_code"]) == (
        "declined",
        "declined",
        code,
    )
    await assert_ledger_clean(runtime)


async def test_mastercard_pays_too(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Callable[..., Awaitable[Headers]]
) -> None:
    headers = await buyer()
    placed = await place(client, headers, order_body(number="5555555555554444"))
    await settle(runtime)
    order = await order_of(client, headers, placed.json()["id"])
    assert order["status"] == "succeeded"
    assert order["payment"]["card_last4"] == "4444"


async def test_a_top_up_pending_for_24_hours_fails_and_releases_the_hold(
    client: httpx.AsyncClient,
    runtime: Runtime,
    buyer: Callable[..., Awaitable[Headers]],
) -> None:
    headers = await buyer()
    placed = await place(client, headers, order_body("+2348031230004"))
    await settle(runtime, rounds=4)
    assert (await order_of(client, headers, placed.json()["id"]))["status"] == "pending"
    clock.advance(24 * 3600)  # the login token expires too: read the order's row instead
    await settle(runtime, rounds=3)
    async with runtime.session_factory() as session:
        order = await session.get(Order, placed.json()["id"])
    assert order is not None
    assert (order.status, order.payment_status, order.failure_code) == (
        "failed",
        "voided",
        "supplier_timeout",
    )
    await assert_ledger_clean(runtime)
