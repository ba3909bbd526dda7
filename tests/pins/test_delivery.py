"""A voucher and a calling card bought through POST /v1/orders: the PIN reaches the buyer
by email and the recipient by SMS, shows in the buyer's order, is kept sealed, and is the
supplier's one PIN however often it is asked; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from sqlalchemy import select

from tests.fixtures.customers import fresh_headers
from tests.orders.conftest import order_of, settle
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
from topup.accounts.models import Customer
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.orders.lifecycle import drive
from topup.orders.service import PlaceOrder, place_order
from topup.payments.service import save_card
from topup.pins.models import OrderPin
from topup.providers.payments.base import CardDetails
from topup.providers.suppliers.base import TopupRequest, TopupResult
from topup.risk.models import RiskDecision
from topup.runtime import Runtime


async def test_a_voucher_delivers_its_pin_by_email_and_sms_and_in_the_order(
    client: httpx.AsyncClient, runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()

    order = await bought(client, runtime, buyer, VOUCHER, DELIVERED)

    assert (order["status"], order["product_type"]) == ("succeeded", "voucher")
    pin = order["pin"]
    assert pin["code"].isdigit()
    assert len(pin["code"]) == 16
    assert pin["serial"].isdigit()
    assert (pin["balance"], pin["original_balance"]) == (None, None)
    email, sms = await messages_of(runtime, order["id"])
    assert (email.kind, email.recipient) == ("pin_delivered", buyer.email)
    assert email.subject == "Your voucher for +234 803 123 4567: NGN 20,000.00"
    for part in (email.body, email.html_body):
        assert part is not None
        assert pin["code"] in part
        assert pin["serial"] in part
    assert (sms.kind, sms.recipient) == ("pin_received", DELIVERED)
    assert sms.body is not None
    assert sms.body.startswith("Ada sent you a voucher for MTN Nigeria worth NGN 20,000.00")
    assert pin["code"] in sms.body
    assert pin["serial"] not in sms.body
    # The sandbox outbox shows both, as it shows every message.
    shown = await client.get("/v1/sandbox/messages", params={"to": DELIVERED})
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
    """A supplier that reports the voucher delivered but sends no PIN with it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send_topup(self, request: TopupRequest) -> TopupResult:
        delivered: TopupResult = await self._inner.send_topup(request)
        return dataclasses.replace(delivered, pin=None)


async def test_a_voucher_delivered_without_a_pin_succeeds_and_support_is_told(
    runtime: Runtime, pin_buyer: MakeBuyer
) -> None:
    buyer = await pin_buyer()
    async with unit_of_work(runtime.session_factory) as session:
        customer = await session.get(Customer, buyer.id)
        assert customer is not None
        card = await save_card(
            session,
            runtime.payment_gateway,
            customer,
            CardDetails("4242424242424242", 12, clock.now().year + 1, "123"),
        )
        order = await place_order(
            session,
            snapshot=await runtime.catalogue.get(),
            number_lookup=runtime.number_lookup,
            gateway=runtime.payment_gateway,
            customer=customer,
            request=PlaceOrder(
                recipient_phone=DELIVERED,
                product_id=VOUCHER,
                amount=None,
                amount_currency=None,
                card_id=card.id,
                new_card=None,
                message=None,
                confirm_duplicate=True,
            ),
        )
    deps = dataclasses.replace(runtime.order_deps(), supplier=PinLess(runtime.supplier))

    assert await drive(deps, order.id) == "succeeded"

    async with runtime.session_factory() as session:
        kept = await session.get(OrderPin, order.id)
        noted = await session.scalars(
            select(RiskDecision.kind).where(RiskDecision.order_id == order.id)
        )
        assert "pin_missing" in noted.all()
    assert kept is None
    [receipt, sms] = await messages_of(runtime, order.id)
    assert (receipt.kind, sms.kind) == ("order_succeeded", "topup_received")
    await assert_ledger_clean(runtime)
