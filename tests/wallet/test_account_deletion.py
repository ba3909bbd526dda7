"""``DELETE /v1/me`` with money in the wallet, on both databases: the money is the
customer's, so it is given up only when they say so, and never while a top-up paid from
it is still in flight. Given up, it moves to ``forfeited_balances:EUR`` in the ledger."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.fixtures.customers import logged_in_customer
from tests.refunds.conftest import asked, delivered_order, refund_body
from tests.wallet.support import (
    PASSWORD,
    SUCCEEDS_LATER,
    Account,
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
    worker_round_after_the_lease,
)
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.kit import faults
from topup.ledger.models import Transfer
from topup.runtime import Runtime
from topup.wallet.accounting import FORFEITED, wallet_account_id


async def delete_me(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    return await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD} | body, headers=account.headers
    )


async def status_of(runtime: Runtime, customer_id: str) -> str:
    async with runtime.session_factory() as session:
        customer = await session.get(Customer, customer_id)
    assert customer is not None
    return customer.status


async def given_up(runtime: Runtime, customer_id: str) -> list[int]:
    """The amounts moved from this wallet to the forfeited balances."""
    async with runtime.session_factory() as session:
        query = select(Transfer.amount).where(
            Transfer.debit_account_id == wallet_account_id(customer_id),
            Transfer.credit_account_id == FORFEITED,
        )
        return [int(amount) for amount in (await session.scalars(query)).all()]


async def test_a_balance_left_unacknowledged_keeps_the_account(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 2000)

    refused = await delete_me(client, account)
    also_refused = await delete_me(client, account, give_up_balance=False)

    for response in (refused, also_refused):
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["field"]) == (
            422,
            "wallet_balance_remaining",
            "give_up_balance",
        )
        assert "20.00" in error["message"]  # the customer is told how much is at stake
    assert await status_of(runtime, account.id) == CustomerStatus.active
    assert await wallet_figures(client, account) == (2000, 0, 2000)
    assert await given_up(runtime, account.id) == []


async def test_a_balance_given_up_moves_to_the_forfeited_balances(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 2000)

    response = await delete_me(client, account, give_up_balance=True)

    assert response.status_code == 204, response.text
    assert await status_of(runtime, account.id) == CustomerStatus.deleted
    assert await given_up(runtime, account.id) == [2000]
    wallet = await wallet_account(runtime, account.id)
    assert wallet.credits_posted - wallet.debits_posted == 0
    assert (await client.get("/v1/wallet", headers=account.headers)).status_code == 401
    await assert_ledger_clean(runtime)


async def test_a_wrong_password_gives_nothing_up(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 2000)

    response = await delete_me(client, account, password="not my password", give_up_balance=True)

    assert response.status_code == 401
    assert await given_up(runtime, account.id) == []
    assert await wallet_figures(client, account) == (2000, 0, 2000)


async def test_an_empty_wallet_needs_no_acknowledgment(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """A wallet never funded, and one spent down to exactly nothing."""
    never_funded, spent = await accounts(), await accounts()
    price = await price_of(client)
    top_ups = -(-500 // price)  # the fewest top-ups whose total can be funded at once
    await funded(client, spent, top_ups * price)
    for _ in range(top_ups):
        assert (await pay_from_wallet(client, spent)).status_code == 201
    assert await wallet_figures(client, spent) == (0, 0, 0)

    for account in (never_funded, spent):
        assert (await delete_me(client, account)).status_code == 204
        assert await status_of(runtime, account.id) == CustomerStatus.deleted
        assert await given_up(runtime, account.id) == []
    await assert_ledger_clean(runtime)


async def test_a_wallet_paying_for_a_top_up_in_flight_cannot_be_given_up(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 2000)
    placed = await pay_from_wallet(client, account, SUCCEEDS_LATER)
    assert placed.status_code == 201, placed.text

    refused = await delete_me(client, account, give_up_balance=True)

    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "wallet_payment_in_flight",
    )
    assert await status_of(runtime, account.id) == CustomerStatus.active
    assert await wallet_figures(client, account) == (2000, price, 2000 - price)
    await settle_orders(runtime)  # the top-up is delivered and paid for
    assert (await delete_me(client, account, give_up_balance=True)).status_code == 204
    assert await given_up(runtime, account.id) == [2000 - price]
    await assert_ledger_clean(runtime)


async def test_an_account_with_a_funding_in_flight_is_not_deleted_until_it_ends(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """A funding the request died in is still charged and credited by the worker; deleting
    the account meanwhile would leave the money in the wallet of an account that is gone,
    charged to a card the customer can no longer see."""
    account = await accounts()
    faults.arm("funding.authorized_at_gateway")
    assert (await fund(client, account, fund_body(2000))).status_code == 500

    refused = await delete_me(client, account, give_up_balance=True)

    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "wallet_payment_in_flight",
    )
    assert await status_of(runtime, account.id) == CustomerStatus.active
    await worker_round_after_the_lease(runtime)
    assert await wallet_figures(client, account) == (2000, 0, 2000)
    assert (await delete_me(client, account)).status_code == 422  # now a balance to give up
    assert (await delete_me(client, account, give_up_balance=True)).status_code == 204
    assert await given_up(runtime, account.id) == [2000]
    await assert_ledger_clean(runtime)


async def test_an_account_with_an_open_refund_request_is_not_deleted_until_it_is_decided(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """A refund approved after the deletion would land in a wallet nobody can reach."""
    account = await accounts()
    order = await delivered_order(client, runtime, account.headers)
    request = await asked(client, account.headers, refund_body(order["id"]))

    refused = await delete_me(client, account, give_up_balance=True)

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "refund_in_progress")
    assert await status_of(runtime, account.id) == CustomerStatus.active
    staff = await logged_in_customer(runtime, role=Role.support.value)
    rejected = await client.post(
        f"/v1/admin/refund-requests/{request['id']}/reject",
        json={"reason": "Delivered."},
        headers=staff.headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert (await delete_me(client, account)).status_code == 204
