"""A voucher and a calling card bought through POST /v1/orders: the PIN reaches the buyer
by email and the recipient by SMS, shows in the buyer's order, is kept sealed, and is the
supplier's one PIN however often it is asked; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import structlog
from sqlalchemy import select

from tests.fixtures.customers import fresh_headers
from tests.notifications.test_orders import unique_number
from tests.orders.conftest import order_of, settle
from tests.orders.support import new_order
from tests.pins.conftest import (
    CALLING_CARD,
    DELIVERED,
    LATER,
    VOUCHER,
    MakeBuyer,
    bought,
    messages_of,
)
from tests.refunds.conftest import assert_ledger_clean
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.i18n import format_phone
from topup.kit.sealing import sealer
from topup.orders.lifecycle import advance, drive
from topup.orders.models import Order
from topup.pins.models import OrderPin
from topup.pins.service import PURPOSE
from topup.providers.suppliers.base import TopupRequest, TopupResult
from topup.risk.models import RiskDecision
from topup.runtime import Runtime


async def test_a_voucher_delivers_its_pin_by_email_and_sms_and_in_the_order(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    # A number of its own: the sandbox inbox of the shared one lists, newest first, the
    # messages of tests that moved the clock months ahead before this one ran.
    recipient = unique_number("+23480312")

    order = await bought(client, runtime, buyer, VOUCHER, recipient)

    assert (order["status"], order["product_type"]) == ("succeeded", "voucher")
    pin = order["pin"]
    assert pin["code"].isdigit()
    assert len(pin["code"]) == 16
    assert pin["serial"].isdigit()
    assert (pin["balance"], pin["original_balance"]) == (None, None)
    email, sms = await messages_of(runtime, order["id"])
    assert (email.kind, email.recipient) == ("pin_delivered", buyer.email)
    assert email.subject == f"Your voucher for {format_phone(recipient)}: NGN 20,000.00"
    for part in (email.body, email.html_body):
        assert part is not None
        assert pin["code"] in part
        assert pin["serial"] in part
    assert (sms.kind, sms.recipient) == ("pin_received", recipient)
    assert sms.body is not None
    assert sms.body.startswith("Ada sent you a voucher for MTN Nigeria worth NGN 20,000.00")
    assert pin["code"] in sms.body
    assert pin["serial"] not in sms.body
    # The sandbox outbox shows both, as it shows every message.
    shown = await client.get("/v1/sandbox/messages", params={"to": recipient})
    assert any(pin["code"] in message["body"] for message in shown.json()["data"])
    await assert_ledger_clean(runtime)


async def test_a_calling_card_shows_its_balance_and_how_to_call(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()

    order = await bought(client, runtime, buyer, CALLING_CARD, DELIVERED)

    pin = order["pin"]
    assert order["product_type"] == "calling_card"
    assert pin["balance"] == pin["original_balance"] == {"amount": 1_000_000, "currency": "NGN"}
    assert pin["access_number"] == "+442079460000"
    email, sms = await messages_of(runtime, order["id"])
    assert email.body is not None
    assert sms.body is not None
    assert "Balance: NGN\xa010,000.00" in email.body
    assert "To call, dial +44 20 7946 0000, enter the PIN when asked" in email.body
    assert "calling card" in sms.body
    assert "Dial +442079460000, then the PIN." in sms.body
    clock.advance(2 * 24 * 3600)  # the card is used up by a tenth a day
    again = await order_of(client, await fresh_headers(runtime, buyer.id), order["id"])
    assert again["pin"]["balance"] == {"amount": 800_000, "currency": "NGN"}
    assert again["pin"]["code"] == pin["code"]


async def test_the_pin_shows_to_its_owner_on_the_order_only(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer, other = await pin_buyer(), await pin_buyer()
    order = await bought(client, runtime, buyer, VOUCHER, DELIVERED)

    single = await client.get(f"/v1/orders/{order['id']}", headers=buyer.headers)
    listed = await client.get("/v1/orders", headers=buyer.headers)
    foreign = await client.get(f"/v1/orders/{order['id']}", headers=other.headers)

    assert single.json()["pin"]["code"] == order["pin"]["code"]
    assert single.headers["cache-control"] == "no-store"
    [row] = [item for item in listed.json()["data"] if item["id"] == order["id"]]
    assert (row["pin"], row["product_type"]) == (None, "voucher")
    assert order["pin"]["code"] not in listed.text
    assert foreign.status_code == 404


async def test_a_pending_voucher_gets_its_pin_at_the_status_check(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()

    order = await bought(client, runtime, buyer, VOUCHER, LATER)

    assert order["status"] == "succeeded"
    code = order["pin"]["code"]
    [email, sms] = await messages_of(runtime, order["id"])
    assert email.body is not None
    assert code in email.body
    assert sms.body is not None
    assert code in sms.body
    # The supplier, asked again, repeats the PIN it issued; nothing is sent twice.
    again = await runtime.supplier.status(order["id"])
    assert again.pin is not None
    assert again.pin.code == code
    await settle(runtime, rounds=2)
    assert len(await messages_of(runtime, order["id"])) == 2


async def test_the_pin_is_sealed_in_the_database(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order = await bought(client, runtime, buyer, CALLING_CARD, DELIVERED)

    async with runtime.session_factory() as session:
        row = (
            await session.execute(
                select(OrderPin.__table__).where(OrderPin.order_id == order["id"])
            )
        ).one()

    code, serial = order["pin"]["code"].encode(), order["pin"]["serial"].encode()
    for sealed in (row.code_sealed, row.serial_sealed):
        assert code not in sealed
        assert serial not in sealed
        assert len(sealed) >= 1 + 12 + 16  # version, nonce, tag
    assert row.code_sealed != code
    assert (row.original_balance, row.balance_currency) == (1_000_000, "NGN")


class PinLess:
    """A supplier that reports the voucher delivered but sends no PIN with the send (and,
    ``always``, with the status either); the status call of a sound supplier repeats it."""

    def __init__(self, inner: Any, *, always: bool = False) -> None:
        self._inner = inner
        self._always = always

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send_topup(self, request: TopupRequest) -> TopupResult:
        delivered: TopupResult = await self._inner.send_topup(request)
        return dataclasses.replace(delivered, pin=None)

    async def status(self, reference: str) -> TopupResult:
        found: TopupResult = await self._inner.status(reference)
        return dataclasses.replace(found, pin=None) if self._always else found


async def voucher_order(runtime: Runtime, buyer_id: str) -> str:
    return await new_order(
        runtime, DELIVERED, product_id=VOUCHER, buyer_id=buyer_id, confirm_duplicate=True
    )


async def order_row(runtime: Runtime, order_id: str) -> Order:
    async with runtime.session_factory() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def test_a_success_without_a_pin_waits_for_the_status_call_that_carries_it(
    runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order_id = await voucher_order(runtime, buyer.id)
    deps = dataclasses.replace(runtime.order_deps(), supplier=PinLess(runtime.supplier))

    # Not delivered yet: nothing captured, no receipt without the PIN.
    assert await drive(deps, order_id) == "pending"
    waiting = await order_row(runtime, order_id)
    assert waiting.payment_status == "authorized"
    assert await messages_of(runtime, order_id) == []

    assert await advance(deps, order_id) == "succeeded"  # the status call repeats the PIN

    async with runtime.session_factory() as session:
        assert await session.get(OrderPin, order_id) is not None
    assert (await order_row(runtime, order_id)).payment_status == "captured"
    [email, sms] = await messages_of(runtime, order_id)
    assert (email.kind, sms.kind) == ("pin_delivered", "pin_received")
    await assert_ledger_clean(runtime)


async def test_a_voucher_whose_pin_never_comes_fails_unpaid_and_support_is_told(
    runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order_id = await voucher_order(runtime, buyer.id)
    deps = dataclasses.replace(
        runtime.order_deps(), supplier=PinLess(runtime.supplier, always=True)
    )
    assert await drive(deps, order_id) == "pending"
    assert await advance(deps, order_id) == "pending"  # "succeeded" again, still no PIN

    clock.advance(24 * 3600)
    with structlog.testing.capture_logs() as logs:
        assert await advance(deps, order_id) == "failed"

    order = await order_row(runtime, order_id)
    assert (order.failure_code, order.payment_status) == ("pin_not_delivered", "voided")
    async with runtime.session_factory() as session:
        assert await session.get(OrderPin, order_id) is None
        noted = await session.scalars(
            select(RiskDecision.outcome).where(
                RiskDecision.order_id == order_id, RiskDecision.kind == "pin_missing"
            )
        )
        assert noted.all() == ["failed_without_pin"]
    assert [entry["log_level"] for entry in logs if entry["event"] == "pin_never_delivered"] == [
        "warning"
    ]
    [failed] = await messages_of(runtime, order_id)
    assert failed.kind == "order_failed"
    await assert_ledger_clean(runtime)


async def test_a_pin_that_no_longer_opens_shows_the_order_without_it(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    order = await bought(client, runtime, buyer, VOUCHER, DELIVERED)
    # As after TOPUP_SECRET_KEY changed: the kept PIN was sealed under another key.
    old_key = sealer("the-key-before-the-change-" + "x" * 16, PURPOSE)
    async with unit_of_work(runtime.session_factory) as session:
        row = await session.get(OrderPin, order["id"])
        assert row is not None
        row.code_sealed = old_key.seal(order["pin"]["code"], bound_to=order["id"])

    with structlog.testing.capture_logs() as logs:
        shown = await client.get(f"/v1/orders/{order['id']}", headers=buyer.headers)

    assert shown.status_code == 200, shown.text
    answer = shown.json()
    assert (answer["status"], answer["pin"], answer["pin_unavailable"]) == (
        "succeeded",
        None,
        True,
    )
    [warning] = [entry for entry in logs if entry["event"] == "pin_seal_broken"]
    assert (warning["log_level"], warning["order_id"]) == ("warning", order["id"])
    assert order["pin"]["code"] not in repr(logs)
    assert order["pin"]["serial"] not in repr(logs)
