"""Many requests on one wallet at once, on PostgreSQL only: SQLite runs one writer at a time,
so nothing would race there. Every request goes through the app, as customers' would.

This database has no risk rules loaded (those are the ``risky`` fixture's), so no velocity
limit or signal can refuse or hold an order: what is measured is the wallet alone. The
tests still check that no order was rejected, so a rule loaded later cannot hide in them.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from tests.wallet.support import (
    NewAccount,
    assert_ledger_clean,
    fund,
    fund_body,
    funded,
    pay_from_wallet,
    price_of,
    settle_orders,
    wallet_account,
    wallet_figures,
)
from topup.orders.models import Order
from topup.runtime import Runtime

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
SPENDS = 20


def recipients(count: int) -> list[str]:
    """Distinct Nigerian MTN numbers ending 0002: each top-up stays pending at the supplier
    until the worker polls it, so every accepted order holds its price at the same time."""
    return [f"+234803{100 + number:03d}0002" for number in range(count)]


async def orders_of(runtime: Runtime, customer_id: str) -> int:
    async with runtime.session_factory() as session:
        query = select(func.count()).select_from(Order).where(Order.customer_id == customer_id)
        return int(await session.scalar(query) or 0)


async def assert_never_negative(runtime: Runtime, customer_id: str) -> None:
    wallet = await wallet_account(runtime, customer_id)
    assert wallet.debits_posted + wallet.debits_pending <= wallet.credits_posted


async def test_twenty_spends_at_once_on_a_wallet_funded_for_seven_accept_exactly_seven(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    affordable = 7
    await funded(client, account, affordable * price)

    answers = await asyncio.gather(
        *(pay_from_wallet(client, account, phone) for phone in recipients(SPENDS))
    )

    accepted = [answer.json() for answer in answers if answer.status_code == 201]
    refused = [answer for answer in answers if answer.status_code != 201]
    assert len(accepted) == affordable
    assert {order["status"] for order in accepted} <= {"created", "authorized", "pending"}
    assert {
        (answer.status_code, answer.json()["error"]["code"], answer.json()["error"]["field"])
        for answer in refused
    } == {(402, "insufficient_balance", "payment.wallet")}
    assert await orders_of(runtime, account.id) == affordable  # a refusal stores nothing
    await assert_never_negative(runtime, account.id)
    assert await wallet_figures(client, account) == (affordable * price, affordable * price, 0)

    await settle_orders(runtime)

    assert await wallet_figures(client, account) == (0, 0, 0)
    await assert_never_negative(runtime, account.id)
    await assert_ledger_clean(runtime)


async def test_fundings_and_spends_at_once_account_for_every_cent(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """Which spends win depends on how the race runs; what cannot vary is that the
    wallet ends holding exactly what came in less what was spent, never less than zero."""
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 3 * price)
    fundings = [500, 600, 700]

    answers = await asyncio.gather(
        *(pay_from_wallet(client, account, phone) for phone in recipients(SPENDS)),
        *(fund(client, account, fund_body(amount)) for amount in fundings),
    )

    spends, funded_now = answers[:SPENDS], answers[SPENDS:]
    assert [answer.status_code for answer in funded_now] == [201, 201, 201]
    accepted = [answer for answer in spends if answer.status_code == 201]
    assert {answer.status_code for answer in spends} <= {201, 402}
    assert 3 <= len(accepted) <= (3 * price + sum(fundings)) // price
    await assert_never_negative(runtime, account.id)
    await settle_orders(runtime)
    balance = 3 * price + sum(fundings) - len(accepted) * price
    assert await wallet_figures(client, account) == (balance, 0, balance)
    await assert_ledger_clean(runtime)
