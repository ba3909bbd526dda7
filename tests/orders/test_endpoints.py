"""``/v1/orders`` over HTTP: idempotency keys, validation, ownership, pages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select

from tests.orders.conftest import NEXT_YEAR, Headers, card, order_body, place, settle
from topup.idempotency.service import IN_FLIGHT_LOCK
from topup.kit import clock
from topup.orders.models import Order
from topup.providers.payments.sandbox_models import SandboxPayment
from topup.providers.suppliers.base import NumberInfo, NumberLookup
from topup.runtime import Runtime

Buyer = Callable[..., Awaitable[Headers]]


async def count(runtime: Runtime, model: type[Order] | type[SandboxPayment]) -> int:
    async with runtime.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_same_key_and_body_replay_the_first_answer(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer
) -> None:
    headers = await buyer()
    before = await count(runtime, Order)
    first = await place(client, headers, order_body(), key="same-key")
    again = await place(client, headers, order_body(), key="same-key")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert await count(runtime, Order) == before + 1


async def test_the_same_key_with_another_body_is_409(
    client: httpx.AsyncClient, buyer: Buyer
) -> None:
    headers = await buyer()
    await place(client, headers, order_body(), key="k1")
    other = await place(client, headers, order_body(product_id="ng-mtn-10000"), key="k1")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_twenty_requests_with_one_key_make_one_order_and_one_hold(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer
) -> None:
    headers = await buyer()
    orders, holds = await count(runtime, Order), await count(runtime, SandboxPayment)
    answers = await asyncio.gather(
        *(place(client, headers, order_body(), key="one-key") for _ in range(20))
    )
    assert {answer.status_code for answer in answers} <= {201, 409}
    created = {answer.json()["id"] for answer in answers if answer.status_code == 201}
    assert len(created) == 1
    await settle(runtime)
    assert await count(runtime, Order) == orders + 1
    assert await count(runtime, SandboxPayment) == holds + 1


class Gate:
    """Where a request stalls (a slow database, a long pause) until the test opens it."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()

    async def wait_reached(self) -> None:
        await asyncio.wait_for(self.reached.wait(), timeout=30)


class GatedLookup:
    """Wraps the number lookup: each of the first calls waits at a gate of its own."""

    def __init__(self, inner: NumberLookup, gates: list[Gate]) -> None:
        self._inner = inner
        self._gates = gates

    async def lookup(self, e164: str) -> NumberInfo:
        if self._gates:
            gate = self._gates.pop(0)
            gate.reached.set()
            await gate.opened.wait()
        return await self._inner.lookup(e164)


async def test_a_request_held_past_its_lease_loses_the_key_to_the_retry(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer
) -> None:
    """The first request stalls past its lease and a retry takes the key over; the first
    goes on and reaches complete() while the retry still works. The fence refuses it and
    its order rolls back: one order, one hold, one answer."""
    headers = await buyer()
    orders, holds = await count(runtime, Order), await count(runtime, SandboxPayment)
    slow, retrying = Gate(), Gate()
    runtime.number_lookup = GatedLookup(runtime.number_lookup, [slow, retrying])
    first = asyncio.create_task(place(client, headers, order_body(), key="slow-key"))
    await slow.wait_reached()
    clock.advance(IN_FLIGHT_LOCK.total_seconds() + 1)
    retry = asyncio.create_task(place(client, headers, order_body(), key="slow-key"))
    await retrying.wait_reached()

    slow.opened.set()
    late = await asyncio.wait_for(first, timeout=30)
    retrying.opened.set()
    placed = await asyncio.wait_for(retry, timeout=30)

    assert late.status_code == 409, late.text
    assert late.json()["error"]["code"] == "idempotency_key_in_use"
    assert placed.status_code == 201, placed.text
    again = await place(client, headers, order_body(), key="slow-key")
    assert (again.status_code, again.json()) == (201, placed.json())
    await settle(runtime)
    assert await count(runtime, Order) == orders + 1
    assert await count(runtime, SandboxPayment) == holds + 1


async def test_keys_belong_to_one_customer(client: httpx.AsyncClient, buyer: Buyer) -> None:
    first, second = await buyer(), await buyer()
    one = await place(client, first, order_body(), key="shared")
    two = await place(client, second, order_body(), key="shared")
    assert one.json()["id"] != two.json()["id"]


async def test_an_idempotency_key_is_required(client: httpx.AsyncClient, buyer: Buyer) -> None:
    response = await client.post("/v1/orders", json=order_body(), headers=await buyer())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_missing"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (order_body(product_id="gh-mtn-10"), "product_not_found", "product_id"),
        (order_body(product_id="ng-airtel-2500"), "product_not_for_operator", "product_id"),
        (order_body("+2348031230009"), "not_prepaid", "recipient_phone"),
        (order_body("12"), "invalid_phone", "recipient_phone"),
        (order_body(message="x" * 31), "invalid_message", "message"),
        (order_body(message="hi\u0007"), "invalid_message", "message"),
        (order_body(message="line\nbreak"), "invalid_message", "message"),
        (order_body(message="see bit.ly/x2"), "invalid_message", "message"),
        (order_body(message="https://a.b"), "invalid_message", "message"),
        (order_body(message="WWW.Example"), "invalid_message", "message"),
        (order_body(message="go to topup.com"), "invalid_message", "message"),
        (order_body(product_id="ng-mtn-range"), "missing_field", "amount"),
        (
            order_body(product_id="ng-mtn-range", amount={"amount": 1, "currency": "NGN"}),
            "invalid_amount",
            "amount.amount",
        ),
        (
            order_body(product_id="ng-mtn-range", amount={"amount": 500000, "currency": "EUR"}),
            "invalid_amount",
            "amount.currency",
        ),
        (order_body(number="378282246310005"), "unsupported_card_brand", "payment.card.number"),
        (order_body() | {"payment": {"card_id": "card_nope"}}, "card_not_found", "payment.card_id"),
        (order_body() | {"payment": {}}, "invalid_field", "payment"),
        # Only a JSON integer is a card's month or year, as only one is an amount.
        (
            order_body() | {"payment": card(exp_month="12")},
            "invalid_field",
            "payment.card.exp_month",
        ),
        (
            order_body() | {"payment": card(exp_year=float(NEXT_YEAR))},
            "invalid_field",
            "payment.card.exp_year",
        ),
    ],
)
async def test_bad_orders_get_a_clear_422_and_free_the_key(
    client: httpx.AsyncClient, buyer: Buyer, body: dict[str, object], code: str, field: str
) -> None:
    headers = await buyer()
    refused = await place(client, headers, body, key="retry-me")
    assert refused.status_code == 422, refused.text
    assert (refused.json()["error"]["code"], refused.json()["error"]["field"]) == (code, field)
    corrected = await place(client, headers, order_body(), key="retry-me")
    assert corrected.status_code == 201


async def test_a_range_product_prices_the_amount_chosen(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer
) -> None:
    headers = await buyer()
    products = (await client.get("/v1/operators/ng-mtn/products")).json()["data"]
    span = next(product for product in products if product["kind"] == "range")
    amount = span["local_min"]["amount"] + span["local_step"]["amount"]
    placed = await place(
        client,
        headers,
        order_body(product_id="ng-mtn-range", amount={"amount": amount, "currency": "NGN"}),
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["local_value"] == {"amount": amount, "currency": "NGN"}
    assert (
        span["price_min"]["amount"]
        <= placed.json()["price"]["amount"]
        <= (span["price_max"]["amount"])
    )


async def test_an_unverified_phone_cannot_buy(client: httpx.AsyncClient, buyer: Buyer) -> None:
    refused = await place(client, await buyer(phone_verified=False), order_body())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "phone_not_verified"


async def test_another_customers_order_is_404(client: httpx.AsyncClient, buyer: Buyer) -> None:
    owner, stranger = await buyer(), await buyer()
    placed = await place(client, owner, order_body())
    response = await client.get(f"/v1/orders/{placed.json()['id']}", headers=stranger)
    assert response.status_code == 404
    assert (await client.get("/v1/orders", headers=stranger)).json()["data"] == []


async def test_orders_come_newest_first_in_pages(client: httpx.AsyncClient, buyer: Buyer) -> None:
    headers = await buyer()
    placed = [(await place(client, headers, order_body())).json()["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/orders", headers=headers, params=params)).json()
        seen += [order["id"] for order in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(placed))
    bad = await client.get("/v1/orders", headers=headers, params={"cursor": "%%%"})
    assert bad.json()["error"]["code"] == "invalid_cursor"


async def test_repeat_buys_the_same_again_with_the_saved_card(
    client: httpx.AsyncClient, runtime: Runtime, buyer: Buyer
) -> None:
    headers = await buyer()
    first = await place(client, headers, order_body() | {"payment": card() | {"save_card": True}})
    await settle(runtime, rounds=3)
    repeated = await client.post(
        f"/v1/orders/{first.json()['id']}/repeat", headers=headers | {"Idempotency-Key": "repeat-1"}
    )
    assert repeated.status_code == 201, repeated.text
    assert repeated.json()["id"] != first.json()["id"]
    for key in ("recipient_phone", "product_id", "local_value", "price"):
        assert repeated.json()[key] == first.json()[key]
    unsaved = await place(client, headers, order_body())
    refused = await client.post(
        f"/v1/orders/{unsaved.json()['id']}/repeat",
        headers=headers | {"Idempotency-Key": "repeat-2"},
    )
    assert refused.json()["error"]["code"] == "card_not_found"
