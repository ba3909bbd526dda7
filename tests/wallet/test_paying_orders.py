"""Top-ups paid from the wallet, on both databases: the price is held on the wallet as the
order is placed, taken when the top-up is delivered and given back when it is not; no
card is ever asked, and an order the wallet cannot pay for is refused before anything
is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.fixtures.risky import Risky
from tests.orders.conftest import settle
from tests.wallet.support import (
    DECLINED_CARD,
    FAILS_AT_ONCE,
    FAILS_LATER,
    PRODUCT,
    SUCCEEDS,
    SUCCEEDS_LATER,
    Account,
    NewAccount,
    assert_ledger_clean,
    card_payments,
    fund,
    fund_body,
    funded,
    order_of,
    pay_from_wallet,
    price_of,
    settle_orders,
    wallet_figures,
)
from topup.accounts.models import Customer
from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.ledger.models import JournalEntry, Transfer
from topup.orders.lifecycle import advance
from topup.orders.models import Order
from topup.orders.service import PlaceOrder, place_order
from topup.orders.tasks import LEASE as ORDER_LEASE
from topup.orders.tasks import run_due as run_orders
from topup.runtime import Runtime


async def orders_of(runtime: Runtime, customer_id: str) -> int:
    async with runtime.session_factory() as session:
        query = select(func.count()).select_from(Order).where(Order.customer_id == customer_id)
        return int(await session.scalar(query) or 0)


async def paid(client: httpx.AsyncClient, account: Account, phone: str) -> dict[str, Any]:
    response = await pay_from_wallet(client, account, phone)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["payment"] == {"method": "wallet", "status": "authorized", "card_last4": None}
    return order


async def test_a_delivered_top_up_holds_the_price_then_takes_it(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 2000)

    order = await paid(client, account, SUCCEEDS_LATER)

    assert order["price"] == {"amount": price, "currency": "EUR"}
    # Pending at the supplier: the price is reserved, not yet taken.
    assert (await order_of(client, account, order["id"]))["status"] == "pending"
    assert await wallet_figures(client, account) == (2000, price, 2000 - price)
    await settle_orders(runtime)
    final = await order_of(client, account, order["id"])
    assert (final["status"], final["payment"]["method"], final["payment"]["status"]) == (
        "succeeded",
        "wallet",
        "captured",
    )
    assert await wallet_figures(client, account) == (2000 - price, 0, 2000 - price)
    assert len(await card_payments(runtime, account.id)) == 1  # the funding's, nothing more
    await assert_ledger_clean(runtime)


async def test_a_top_up_delivered_at_once_takes_the_price(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 2000)

    order = await paid(client, account, SUCCEEDS)
    await settle(runtime, rounds=1)

    final = await order_of(client, account, order["id"])
    assert (final["status"], final["payment"]["status"]) == ("succeeded", "captured")
    assert await wallet_figures(client, account) == (2000 - price, 0, 2000 - price)
    await assert_ledger_clean(runtime)


@pytest.mark.parametrize("phone", [FAILS_AT_ONCE, FAILS_LATER])
async def test_a_failed_top_up_gives_the_whole_balance_back(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount, phone: str
) -> None:
    account = await accounts()
    await funded(client, account, 2000)

    order = await paid(client, account, phone)
    await settle_orders(runtime)

    final = await order_of(client, account, order["id"])
    assert (final["status"], final["payment"]["status"]) == ("failed", "voided")
    assert await wallet_figures(client, account) == (2000, 0, 2000)
    assert len(await card_payments(runtime, account.id)) == 1
    await assert_ledger_clean(runtime)


async def test_an_order_beyond_the_available_balance_is_402_and_frees_the_key(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """What top-ups in flight reserve cannot be spent twice: ``available`` decides."""
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 500)
    holds = 500 // price
    for _ in range(holds):
        await paid(client, account, SUCCEEDS_LATER)
    assert await wallet_figures(client, account) == (500, holds * price, 500 - holds * price)
    stored = await orders_of(runtime, account.id)

    refused = await pay_from_wallet(client, account, SUCCEEDS, key="retry-me")

    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["field"]) == (
        402,
        "insufficient_balance",
        "payment.wallet",
    )
    assert await orders_of(runtime, account.id) == stored
    assert await wallet_figures(client, account) == (500, holds * price, 500 - holds * price)
    await funded(client, account, 500)
    retried = await pay_from_wallet(client, account, SUCCEEDS, key="retry-me")
    assert retried.status_code == 201, retried.text
    await settle_orders(runtime)
    assert await wallet_figures(client, account) == (
        1000 - (holds + 1) * price,
        0,
        1000 - (holds + 1) * price,
    )
    await assert_ledger_clean(runtime)


async def test_a_wallet_never_funded_pays_for_nothing(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    refused = await pay_from_wallet(client, account)

    assert (refused.status_code, refused.json()["error"]["code"]) == (402, "insufficient_balance")
    assert await orders_of(runtime, account.id) == 0


async def test_a_declined_funding_pays_for_nothing(
    client: httpx.AsyncClient, accounts: NewAccount
) -> None:
    account = await accounts()
    declined = await fund(client, account, fund_body(2000, number=DECLINED_CARD))
    assert declined.status_code == 402

    refused = await pay_from_wallet(client, account)

    assert (refused.status_code, refused.json()["error"]["code"]) == (402, "insufficient_balance")


async def test_a_repeat_of_a_wallet_paid_order_pays_from_the_wallet_again(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 2000)
    first = await paid(client, account, SUCCEEDS)

    repeated = await client.post(
        f"/v1/orders/{first['id']}/repeat",
        headers=account.headers | {"Idempotency-Key": "repeat-1"},
    )

    assert repeated.status_code == 201, repeated.text
    assert repeated.json()["payment"]["method"] == "wallet"
    assert repeated.json()["recipient_phone"] == SUCCEEDS
    await settle(runtime, rounds=1)
    assert await wallet_figures(client, account) == (2000 - 2 * price, 0, 2000 - 2 * price)
    assert len(await card_payments(runtime, account.id)) == 1
    await assert_ledger_clean(runtime)


async def test_a_repeat_the_wallet_cannot_pay_for_is_402(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 500)
    first = await paid(client, account, SUCCEEDS)
    for _ in range((500 - price) // price):  # spend what is left, short of one more
        await paid(client, account, SUCCEEDS)

    repeated = await client.post(
        f"/v1/orders/{first['id']}/repeat",
        headers=account.headers | {"Idempotency-Key": "repeat-1"},
    )

    assert (repeated.status_code, repeated.json()["error"]["code"]) == (
        402,
        "insufficient_balance",
    )
    assert len(await card_payments(runtime, account.id)) == 1  # never fell back to a card


async def place_wallet_order(runtime: Runtime, customer_id: str, phone: str) -> str:
    """An order paid from the wallet, placed as the API places it but not driven on."""
    async with unit_of_work(runtime.session_factory) as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        order = await place_order(
            session,
            snapshot=await runtime.catalogue.get(),
            number_lookup=runtime.number_lookup,
            gateway=runtime.payment_gateway,
            customer=customer,
            request=PlaceOrder(
                recipient_phone=phone,
                product_id=PRODUCT,
                amount=None,
                amount_currency=None,
                card_id=None,
                new_card=None,
                message=None,
                wallet=True,
            ),
        )
        return order.id


async def wallet_movements(runtime: Runtime, order_id: str) -> list[str]:
    """The kinds of the transfers of this order's hold on the wallet, and of its end."""
    async with runtime.session_factory() as session:
        [hold] = (
            await session.scalars(
                select(Transfer)
                .join(JournalEntry, JournalEntry.id == Transfer.entry_id)
                .where(JournalEntry.idempotency_key == f"{order_id}:hold")
            )
        ).all()
        ends = (await session.scalars(select(Transfer).where(Transfer.pending_id == hold.id))).all()
        return [hold.kind, *(end.kind for end in ends)]


@pytest.mark.parametrize("point", ["order.authorized", "order.submitted", "order.sent"])
@pytest.mark.parametrize(("phone", "outcome"), [(SUCCEEDS, "succeeded"), (FAILS_AT_ONCE, "failed")])
async def test_a_crash_at_each_recovery_point_settles_the_wallet_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    accounts: NewAccount,
    point: str,
    phone: str,
    outcome: str,
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 2000)
    order_id = await place_wallet_order(runtime, account.id, phone)
    faults.arm(point)
    crashed = False
    for _ in range(10):
        try:
            await advance(runtime.order_deps(), order_id)
        except faults.InjectedCrash:
            crashed = True
            break
        clock.advance(60)
    assert crashed, f"the order never passed {point}"

    for _ in range(10):  # a fresh worker, once the dead one's lease has run out
        clock.advance(ORDER_LEASE.total_seconds() + 1)
        await run_orders(runtime.order_deps())
        if (await order_of(client, account, order_id))["status"] == outcome:
            break

    assert (await order_of(client, account, order_id))["status"] == outcome
    spent = price if outcome == "succeeded" else 0
    assert await wallet_figures(client, account) == (2000 - spent, 0, 2000 - spent)
    end = "post_pending" if outcome == "succeeded" else "void_pending"
    assert await wallet_movements(runtime, order_id) == ["pending", end]
    assert len(await card_payments(runtime, account.id)) == 1  # the funding's only
    await assert_ledger_clean(runtime)


async def wallet_order_in_review(risky: Risky) -> tuple[str, Account, Account]:
    """A wallet-paid order held for review: (its id, the buyer, a support user).

    A wallet order has no card for the card signals to judge, so the new-account signal
    is made to fire at any amount, with a weight reaching the review score."""
    _, admin = await risky.buyer(role="admin")
    rule = await risky.http.put(
        "/v1/admin/rules/signals/new_account_big_order",
        json={"weight": 50, "params": {"account_age_seconds": 86400, "min_amount": 1}},
        headers=admin,
    )
    assert rule.status_code == 200, rule.text
    buyer = Account(*await risky.buyer(created_at=clock.now()))
    await funded(risky.http, buyer, 2000)
    order = await paid(risky.http, buyer, SUCCEEDS)
    await settle(risky.runtime, rounds=2)
    held = await order_of(risky.http, buyer, order["id"])
    assert (held["status"], held["payment"]["status"]) == ("review", "authorized")
    support = Account(*await risky.buyer(role="support"))
    return order["id"], buyer, support


async def test_a_wallet_order_held_for_review_keeps_its_hold_and_a_rejection_gives_it_back(
    risky: Risky,
) -> None:
    order_id, buyer, support = await wallet_order_in_review(risky)
    price = await price_of(risky.http)
    assert await wallet_figures(risky.http, buyer) == (2000, price, 2000 - price)

    rejected = await risky.http.post(
        f"/v1/admin/reviews/{order_id}/reject",
        json={"reason": "not sure"},
        headers=support.headers,
    )

    assert rejected.status_code == 200, rejected.text
    final = await order_of(risky.http, buyer, order_id)
    assert (final["status"], final["payment"]["status"], final["failure_code"]) == (
        "rejected",
        "voided",
        "review_rejected",
    )
    assert await wallet_figures(risky.http, buyer) == (2000, 0, 2000)
    await assert_ledger_clean(risky.runtime)


async def test_a_wallet_order_approved_in_review_is_paid_from_the_wallet(risky: Risky) -> None:
    order_id, buyer, support = await wallet_order_in_review(risky)
    price = await price_of(risky.http)

    approved = await risky.http.post(
        f"/v1/admin/reviews/{order_id}/approve", headers=support.headers
    )

    assert approved.status_code == 200, approved.text
    await settle(risky.runtime, rounds=2)
    final = await order_of(risky.http, buyer, order_id)
    assert (final["status"], final["payment"]["status"]) == ("succeeded", "captured")
    assert await wallet_figures(risky.http, buyer) == (2000 - price, 0, 2000 - price)
    assert len(await card_payments(risky.runtime, buyer.id)) == 1
    await assert_ledger_clean(risky.runtime)
