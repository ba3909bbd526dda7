"""Promo codes on real orders, through the API: what is paid, what the order shows, what
the ledger records, and when a use is kept or given back. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import select

from tests.orders.conftest import card
from tests.promotions.conftest import (
    FAILS,
    PRODUCT_PRICE,
    MakePerson,
    Person,
    assert_ledger_clean,
    finished,
    issue,
    order_with,
    preview,
    redemptions_of,
    refusal,
    stored_code,
    stored_order,
)
from tests.wallet.support import Account, funded, wallet_figures
from topup.kit.db import unit_of_work
from topup.ledger.models import JournalEntry, Transfer
from topup.promotions.service import settle_redemption
from topup.runtime import Runtime


async def revenue_movements(runtime: Runtime, order_id: str) -> dict[tuple[str, str], int]:
    """(debited account, credited account) → cents, of the order's revenue entry."""
    async with runtime.session_factory() as session:
        rows = await session.scalars(
            select(Transfer)
            .join(JournalEntry, JournalEntry.id == Transfer.entry_id)
            .where(JournalEntry.reference == order_id, JournalEntry.kind == "order_revenue")
        )
        moved: dict[tuple[str, str], int] = defaultdict(int)
        for transfer in rows:
            moved[(transfer.debit_account_id, transfer.credit_account_id)] += transfer.amount
        return dict(moved)


async def delivered_with(
    client: httpx.AsyncClient, runtime: Runtime, who: Person, code: str | None, **extra: Any
) -> dict[str, Any]:
    placed = await order_with(client, who, code, **extra)
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = await finished(client, runtime, who, placed.json()["id"])
    assert (order["status"], order["payment"]["status"]) == ("succeeded", "captured"), order
    return order


async def test_a_percent_code_takes_its_share_off_and_the_ledger_funds_it(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, percent_off="10")
    buyer = await person()

    # Typed in lower case: a code is the same code in any case.
    order = await delivered_with(client, runtime, buyer, issued["code"].lower())

    discount = 79  # 10 % of 7.94 EUR is 79.4 cents: 79, rounded half up
    assert order["price"] == {"amount": PRODUCT_PRICE - discount, "currency": "EUR"}
    assert order["discount"] == {"amount": discount, "currency": "EUR"}
    assert order["promo_code"] == issued["code"].upper()
    stored = await stored_order(runtime, str(order["id"]))
    assert stored.cost_amount + stored.fee_amount + stored.vat_amount == PRODUCT_PRICE
    moved = await revenue_movements(runtime, stored.id)
    assert moved[("promotions:EUR", "orders_in_flight:EUR")] == discount
    out_of_flight = sum(
        amount for (debit, _), amount in moved.items() if debit == "orders_in_flight:EUR"
    )
    assert out_of_flight == PRODUCT_PRICE  # sales, fees and VAT get the whole list price
    [redemption] = await redemptions_of(runtime, issued["id"])
    assert (redemption.status, redemption.order_id, redemption.customer_id) == (
        "used",
        stored.id,
        buyer.id,
    )
    assert redemption.discount_amount == discount
    assert (await stored_code(runtime, issued["id"])).redeemed == 1
    await assert_ledger_clean(runtime)


async def test_a_fixed_code_takes_its_amount_off(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, kind="fixed", percent_off=None, amount_off=200)

    order = await delivered_with(client, runtime, await person(), issued["code"])

    assert order["price"] == {"amount": PRODUCT_PRICE - 200, "currency": "EUR"}
    assert order["discount"] == {"amount": 200, "currency": "EUR"}
    moved = await revenue_movements(runtime, str(order["id"]))
    assert moved[("promotions:EUR", "orders_in_flight:EUR")] == 200
    await assert_ledger_clean(runtime)


async def test_a_fixed_code_bigger_than_the_price_still_leaves_the_minimum_charge(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, kind="fixed", percent_off=None, amount_off=5000)

    order = await delivered_with(client, runtime, await person(), issued["code"])

    assert order["price"] == {"amount": 50, "currency": "EUR"}
    assert order["discount"] == {"amount": PRODUCT_PRICE - 50, "currency": "EUR"}
    await assert_ledger_clean(runtime)


async def test_an_order_without_a_code_shows_no_discount(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    order = await delivered_with(client, runtime, await person(), None)

    assert (order["discount"], order["promo_code"]) == (None, None)
    assert order["price"]["amount"] == PRODUCT_PRICE
    assert ("promotions:EUR", "orders_in_flight:EUR") not in await revenue_movements(
        runtime, str(order["id"])
    )


async def test_a_refused_code_refuses_the_order_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, max_redemptions=1)
    first, second = await person(), await person()
    await delivered_with(client, runtime, first, issued["code"])

    placed = await order_with(client, second, issued["code"])
    unknown = await order_with(client, second, "NO-SUCH-CODE")

    assert refusal(placed) == (422, "promo_code_exhausted", "promo_code")
    assert refusal(unknown) == (422, "promo_code_not_found", "promo_code")
    listed = await client.get("/v1/orders", headers=second.headers)
    assert listed.json()["data"] == []
    assert len(await redemptions_of(runtime, issued["id"])) == 1


async def test_the_per_customer_limit_counts_each_account_apart(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, per_customer_limit=2)
    regular, newcomer = await person(), await person()
    for _ in range(2):
        await delivered_with(client, runtime, regular, issued["code"])

    third = await order_with(client, regular, issued["code"])
    other = await order_with(client, newcomer, issued["code"])

    assert refusal(third) == (422, "promo_code_limit_reached", "promo_code")
    assert other.status_code == 201, other.text
    assert (await stored_code(runtime, issued["id"])).redeemed == 3


async def test_a_code_issued_to_one_account_works_for_it_alone(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    owner, stranger = await person(), await person()
    issued = await issue(client, admin, customer_id=owner.id)

    refused = await order_with(client, stranger, issued["code"])
    placed = await order_with(client, owner, issued["code"])

    assert refusal(refused) == (422, "promo_code_not_found", "promo_code")
    assert placed.status_code == 201, placed.text
    assert placed.json()["promo_code"] == issued["code"].upper()


async def test_codes_tried_on_orders_count_with_previews_against_one_limit(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin)
    guesser, other = await person(), await person()
    # 30 tries in 10 minutes (the limit): half previews, half orders, each with a fresh key.
    previews = [await preview(client, guesser, f"GUESS-{n}") for n in range(15)]
    orders = [await order_with(client, guesser, f"GUESS-{n}") for n in range(15, 30)]

    next_order = await order_with(client, guesser, issued["code"])
    next_preview = await preview(client, guesser, issued["code"])
    without_a_code = await order_with(client, guesser, None)
    someone_else = await order_with(client, other, issued["code"])

    assert {refusal(answer) for answer in previews + orders} == {
        (422, "promo_code_not_found", "promo_code")
    }
    # Past the limit even a good code is not looked at, so the answer tells nothing.
    assert refusal(next_order)[:2] == (429, "rate_limited")
    assert int(next_order.headers["Retry-After"]) >= 1
    assert refusal(next_preview)[:2] == (429, "rate_limited")
    assert without_a_code.status_code == 201, without_a_code.text
    assert someone_else.status_code == 201, someone_else.text
    assert (await stored_code(runtime, issued["id"])).redeemed == 1


async def test_a_failed_order_gives_its_use_back_and_the_code_serves_again(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, max_redemptions=1)
    unlucky = await person()

    placed = await order_with(client, unlucky, issued["code"], phone=FAILS)
    assert placed.status_code == 201, placed.text
    failed = await finished(client, runtime, unlucky, placed.json()["id"])

    assert (failed["status"], failed["payment"]["status"]) == ("failed", "voided")
    [released] = await redemptions_of(runtime, issued["id"])
    assert released.status == "released"
    assert (await stored_code(runtime, issued["id"])).redeemed == 0
    assert await revenue_movements(runtime, str(failed["id"])) == {}  # nothing moved
    # The step recorded again (a retried worker) gives nothing back twice.
    async with unit_of_work(runtime.session_factory) as session:
        await settle_redemption(session, await stored_order(runtime, str(failed["id"])))
    assert (await stored_code(runtime, issued["id"])).redeemed == 0

    # Both the total and the buyer's own use came back: the same buyer uses it again.
    again = await delivered_with(client, runtime, unlucky, issued["code"])
    assert again["discount"] is not None
    assert (await stored_code(runtime, issued["id"])).redeemed == 1
    await assert_ledger_clean(runtime)


async def test_a_declined_card_gives_the_use_back(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, max_redemptions=1)
    buyer = await person()

    placed = await order_with(client, buyer, issued["code"], payment=card("4000000000000002"))
    assert placed.status_code == 201, placed.text
    declined = await finished(client, runtime, buyer, placed.json()["id"])

    assert declined["status"] == "declined"
    assert [row.status for row in await redemptions_of(runtime, issued["id"])] == ["released"]
    assert (await stored_code(runtime, issued["id"])).redeemed == 0
    again = await order_with(client, buyer, issued["code"])
    assert again.status_code == 201, again.text


async def test_paid_from_the_wallet_only_the_discounted_price_leaves_it(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, kind="fixed", percent_off=None, amount_off=300)
    buyer = await person()
    account = Account(buyer.id, buyer.headers)
    await funded(client, account, 1000)

    order = await delivered_with(client, runtime, buyer, issued["code"], payment={"wallet": True})

    assert order["price"]["amount"] == PRODUCT_PRICE - 300
    assert order["payment"]["method"] == "wallet"
    balance, pending, _ = await wallet_figures(client, account)
    assert (balance, pending) == (1000 - (PRODUCT_PRICE - 300), 0)
    moved = await revenue_movements(runtime, str(order["id"]))
    assert moved[("promotions:EUR", "orders_in_flight:EUR")] == 300
    await assert_ledger_clean(runtime)


async def test_repeating_an_order_never_applies_its_code_again(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, per_customer_limit=5)
    buyer = await person()
    saved = await client.post("/v1/cards", json=card()["card"], headers=buyer.headers)
    assert saved.status_code == 201, saved.text
    first = await delivered_with(
        client, runtime, buyer, issued["code"], payment={"card_id": saved.json()["id"]}
    )

    repeated = await client.post(
        f"/v1/orders/{first['id']}/repeat",
        json={"confirm_duplicate": True},
        headers=buyer.headers | {"Idempotency-Key": f"repeat-{first['id']}"},
    )

    assert repeated.status_code == 201, repeated.text
    assert repeated.json()["price"]["amount"] == PRODUCT_PRICE
    assert (repeated.json()["discount"], repeated.json()["promo_code"]) == (None, None)
    assert (await stored_code(runtime, issued["id"])).redeemed == 1


async def test_a_refund_of_a_discounted_order_is_at_most_what_was_paid(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, percent_off="50")
    buyer = await person()
    order = await delivered_with(client, runtime, buyer, issued["code"])
    paid = PRODUCT_PRICE - 397  # half of 7.94 EUR off
    assert order["price"]["amount"] == paid
    body = {"order_id": order["id"], "reason": "not_delivered", "destination": "wallet"}

    quoted = await client.post("/v1/refund-requests/preview", json=body, headers=buyer.headers)
    too_much = await client.post(
        "/v1/refund-requests/preview",
        json=body | {"amount": {"amount": PRODUCT_PRICE, "currency": "EUR"}},
        headers=buyer.headers,
    )

    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["refundable"] is True
    assert quoted.json()["amount"] == {"amount": paid, "currency": "EUR"}
    assert (too_much.json()["refundable"], too_much.json()["rule"]) == (
        False,
        "amount_above_refundable",
    )
    asked = await client.post(
        "/v1/refund-requests",
        json=body,
        headers=buyer.headers | {"Idempotency-Key": f"refund-{order['id']}"},
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["amount"]["amount"] == paid
    assert (await stored_order(runtime, str(order["id"]))).refunded_amount == paid
