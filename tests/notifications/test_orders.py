"""The messages an order causes, read where a sandbox user reads them (GET
/v1/sandbox/messages), on both databases: the receipt and the recipient's SMS, in the
buyer's and the destination's languages; the failure and delay emails; once each."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.orders.conftest import Headers, card, place, settle
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.sessions import issue_token
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.notifications import orders as order_messages
from topup.notifications.segments import Encoding, count_segments
from topup.orders.models import Order
from topup.runtime import Runtime

NIGERIA = "+2348031234567"


async def buyer(
    runtime: Runtime, *, language: str = "en", country: str = "GB"
) -> tuple[Headers, str]:
    """A verified customer named Ada who reads ``language``; returns (headers, email)."""
    email = f"ada-{secrets.token_hex(5)}@example.com"
    async with unit_of_work(runtime.session_factory) as session:
        customer = Customer(
            id=new_id("cus"),
            first_name="Ada",
            last_name="Obi",
            email=email,
            email_key=email,
            status=CustomerStatus.active.value,
            role=Role.customer.value,
            language=language,
            country_iso2=country,
            created_at=clock.now(),
            phone_verified_at=clock.now(),
        )
        session.add(customer)
        await session.flush()
        issued = issue_token(session, runtime.accounts, customer)
    return {"Authorization": f"Bearer {issued.token}"}, email


# How many digits follow the "+" in a mobile number of each country used here.
LENGTHS = {"+234": 13, "+221": 12, "+57": 12, "+39": 12}


def unique_number(prefix: str, ending: str = "") -> str:
    """A number in ``prefix``'s range that no other test tops up (the database is shared);
    ``ending`` picks the simulator's outcome (DESIGN §6)."""
    length = next(size for code, size in LENGTHS.items() if prefix.startswith(code))
    free = length + 1 - len(prefix) - len(ending)
    while True:
        number = prefix + f"{secrets.randbelow(10**free):0{free}d}" + ending
        # Never ending in a simulator code (0001 to 0009) by chance: those fail, pend or
        # are refused, and a receipt test would read a failure email instead.
        if ending or not number[-4:].startswith("000"):
            return number


async def bought(
    client: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    phone: str,
    product_id: str,
    **extra: Any,
) -> dict[str, Any]:
    body = {"recipient_phone": phone, "product_id": product_id, "payment": card()} | extra
    response = await place(client, headers, body)
    assert response.status_code == 201, response.text
    await settle(runtime)
    order: dict[str, Any] = (
        await client.get(f"/v1/orders/{response.json()['id']}", headers=headers)
    ).json()
    return order


async def messages_to(client: httpx.AsyncClient, to: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/sandbox/messages", params={"to": to})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def one_line(text: str) -> str:
    """Babel's no-break spaces as plain ones, so expectations read naturally."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


async def test_a_delivered_top_up_leaves_a_receipt_and_the_recipients_sms(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    phone = unique_number("+23480312", ending="")
    order = await bought(client, runtime, headers, phone, "ng-mtn-2500", message="Happy bday Mum!")
    assert order["status"] == "succeeded"
    price = f"€{order['price']['amount'] // 100}.{order['price']['amount'] % 100:02d}"

    [receipt] = await messages_to(client, email)
    [sms] = await messages_to(client, phone)

    shown = phone[:4] + " " + phone[4:7] + " " + phone[7:10] + " " + phone[10:]
    assert receipt["kind"] == "order_succeeded"
    # A British reader: en_GB writes the naira by its code, spaced from the digits.
    assert one_line(receipt["subject"]) == f"Receipt: NGN 2,500.00 sent to {shown}"
    body = receipt["body"]
    for line in (
        "Hello Ada,",
        f"Order: {order['id']}",
        f"Recipient: {shown}",
        "Operator: MTN Nigeria",
        "Credit sent: NGN\u00a02,500.00",
        f"Price, VAT included: {price}",
        "Paid with: Visa •••• 4242",
        'Your message: "Happy bday Mum!"',
        "The recipient can check their balance by dialling *310#.",
    ):
        assert line in body, line
    assert "Date: " in body
    assert receipt["html_body"].startswith("<!doctype html>")
    assert "&ldquo;Happy bday Mum!&rdquo;" in receipt["html_body"]
    assert (sms["kind"], sms["language"], sms["segments"]) == ("topup_received", "en", 1)
    assert sms["body"] == (
        'Ada sent you NGN 2,500.00 of MTN Nigeria credit with Topup. "Happy bday Mum!" '
        "Balance: *310#"
    )


async def test_the_html_receipt_escapes_the_customers_own_words(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    phone = unique_number("+23480312")
    await bought(client, runtime, headers, phone, "ng-mtn-2500", message="<b>Tom & Jerry</b>")

    [receipt] = await messages_to(client, email)
    [sms] = await messages_to(client, phone)

    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in receipt["html_body"]
    assert '"<b>Tom & Jerry</b>"' in receipt["body"]  # plain text stays as written
    assert '"<b>Tom & Jerry</b>"' in sms["body"]


@pytest.mark.parametrize(
    ("language", "country", "subject", "lines"),
    [
        (
            "fr",
            "FR",
            "Reçu : envoi de 2 500,00 NGN à",
            ["Bonjour Ada,", "Opérateur : MTN Nigeria", "Payé avec : Visa •••• 4242", "TU"],
        ),
        (
            "it",
            "IT",
            "Ricevuta: invio di 2.500,00 NGN a",
            ["Gentile Ada,", "Operatore: MTN Nigeria", "Pagato con: Visa •••• 4242", "UTC"],
        ),
        (
            "es",
            "ES",
            "Comprobante: envío de 2.500,00 NGN a",
            ["Hola, Ada:", "Operador: MTN Nigeria", "Pagado con: Visa •••• 4242", "UTC"],
        ),
    ],
)
async def test_the_receipt_speaks_the_buyers_language_and_formats_money_their_way(
    client: httpx.AsyncClient,
    runtime: Runtime,
    language: str,
    country: str,
    subject: str,
    lines: list[str],
) -> None:
    headers, email = await buyer(runtime, language=language, country=country)
    order = await bought(client, runtime, headers, unique_number("+23480312"), "ng-mtn-2500")
    euros, cents = divmod(order["price"]["amount"], 100)

    [receipt] = await messages_to(client, email)

    assert receipt["language"] == language
    assert one_line(receipt["subject"]).startswith(subject)
    body = one_line(receipt["body"])
    assert f"{euros},{cents:02d} €" in body  # the comma and the sign after, as CLDR says
    for line in lines:
        assert line in body, line


@pytest.mark.parametrize(
    ("prefix", "product_id", "language", "expected"),
    [
        ("+2217712", "sn-orange-1000", "fr", "Ada vous a envoyé 1 000 F CFA de crédit Orange"),
        ("+5731023", "co-claro-10000", "es", "Ada le ha enviado $10.000,00 de saldo Claro"),
        ("+3933312", "it-tim-5", "it", "Ada le ha inviato 5,00 € di credito TIM con Topup."),
        ("+2348031", "ng-mtn-2500", "en", "Ada sent you NGN 2,500.00 of MTN Nigeria credit"),
    ],
)
async def test_the_recipients_sms_speaks_the_destinations_language(
    client: httpx.AsyncClient,
    runtime: Runtime,
    prefix: str,
    product_id: str,
    language: str,
    expected: str,
) -> None:
    headers, _ = await buyer(runtime, language="en")
    phone = unique_number(prefix)
    order = await bought(client, runtime, headers, phone, product_id)
    assert order["status"] == "succeeded"

    [sms] = await messages_to(client, phone)

    assert sms["language"] == language
    assert sms["body"].startswith(expected), sms["body"]
    assert count_segments(sms["body"]).encoding is Encoding.gsm7
    assert sms["segments"] == 1


async def test_an_emoji_in_the_message_keeps_the_sms_to_one_segment_by_saying_less(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, _ = await buyer(runtime)
    phone = unique_number("+23480312")
    await bought(client, runtime, headers, phone, "ng-mtn-2500", message="Happy birthday 🎂")

    [sms] = await messages_to(client, phone)

    assert count_segments(sms["body"]).encoding is Encoding.ucs2  # 70 units a part
    assert sms["segments"] == 1
    assert sms["body"] == 'Ada sent you NGN 2,500.00 with Topup. "Happy birthday 🎂"'


async def test_a_failed_top_up_sends_the_buyer_an_email_and_the_recipient_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    phone = unique_number("+23480312", ending="0001")
    order = await bought(client, runtime, headers, phone, "ng-mtn-2500")
    assert order["status"] == "failed"

    [failed] = await messages_to(client, email)

    assert failed["kind"] == "order_failed"
    assert failed["subject"].startswith("Your top-up to +234 803 12")
    assert failed["subject"].endswith("did not go through")
    assert "You are not charged" in failed["body"]
    assert "Reason: the operator refused the top-up for this number" in failed["body"]
    assert await messages_to(client, phone) == []


async def fund_wallet(client: httpx.AsyncClient, headers: Headers, cents: int) -> None:
    body = {"amount": {"amount": cents, "currency": "EUR"}, "payment": card()}
    response = await client.post(
        "/v1/wallet/fund", json=body, headers=headers | {"Idempotency-Key": new_id("key")}
    )
    assert response.status_code == 201, response.text


async def test_a_top_up_paid_from_the_wallet_says_so_and_never_names_a_card(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime, language="fr", country="FR")
    await fund_wallet(client, headers, 1000)
    delivered = unique_number("+23480312")
    failed = unique_number("+23480312", ending="0001")

    await bought(client, runtime, headers, delivered, "ng-mtn-2500", payment={"wallet": True})
    await bought(client, runtime, headers, failed, "ng-mtn-2500", payment={"wallet": True})

    refusal, receipt = sorted(await messages_to(client, email), key=lambda m: m["kind"])
    assert (receipt["kind"], refusal["kind"]) == ("order_succeeded", "order_failed")
    assert "Payé avec : Votre portefeuille Topup" in one_line(receipt["body"])
    assert "portefeuille Topup sont de retour dans son solde" in one_line(refusal["body"])
    for message in (receipt, refusal):
        assert "carte" not in message["body"]
        assert "••••" not in message["body"]
        assert "carte" not in message["html_body"]


async def test_a_slow_top_up_sends_one_delay_email_then_the_outcome(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    phone = unique_number("+23480312", ending="0004")  # pending until the 24 h expiry
    response = await place(
        client, headers, {"recipient_phone": phone, "product_id": "ng-mtn-2500", "payment": card()}
    )
    assert response.status_code == 201

    await settle(runtime, rounds=8, step_seconds=60)  # 8 minutes: not yet
    assert await messages_to(client, email) == []
    await settle(runtime, rounds=30, step_seconds=60)  # polled on past 10 minutes
    [delayed] = await messages_to(client, email)
    assert delayed["kind"] == "order_delayed"
    assert "We keep asking for up to 24 hours" in delayed["body"]

    await settle(runtime, rounds=30, step_seconds=3600)  # past the 24 h expiry
    kinds = [message["kind"] for message in await messages_to(client, email)]
    assert kinds == ["order_failed", "order_delayed"]
    [failed, _] = await messages_to(client, email)
    assert "did not confirm the top-up within 24 hours" in failed["body"]


async def test_an_order_event_recorded_twice_still_has_one_message_of_each_kind(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    phone = unique_number("+23480312")
    order = await bought(client, runtime, headers, phone, "ng-mtn-2500")

    async with unit_of_work(runtime.session_factory) as session:
        stored = await session.get(Order, order["id"])
        assert stored is not None
        await order_messages.order_succeeded(session, stored)
        await order_messages.order_succeeded(session, stored)

    assert len(await messages_to(client, email)) == 1
    assert len(await messages_to(client, phone)) == 1


async def test_a_buyer_who_deleted_their_account_gets_no_receipt_and_stays_unnamed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers, email = await buyer(runtime)
    phone = unique_number("+23480312", ending="0002")  # delivered at the first status check
    response = await place(
        client, headers, {"recipient_phone": phone, "product_id": "ng-mtn-2500", "payment": card()}
    )
    async with unit_of_work(runtime.session_factory) as session:
        order = await session.get(Order, response.json()["id"])
        assert order is not None
        customer = await session.get(Customer, order.customer_id)
        assert customer is not None
        customer.first_name = customer.email = None  # erased before the top-up landed
        customer.status = CustomerStatus.deleted.value

    await settle(runtime)

    assert await messages_to(client, email) == []
    [sms] = await messages_to(client, phone)
    assert sms["body"].startswith("A friend sent you NGN 2,500.00")
