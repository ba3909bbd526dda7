"""``GET /v1/wallet/transactions``, on both databases: what went in and out of the wallet,
newest first, read from the ledger; a hold shows as pending until it is posted, and a
released one leaves no line, since no money moved."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.wallet.support import (
    FAILS_AT_ONCE,
    FAILS_LATER,
    SUCCEEDS,
    SUCCEEDS_LATER,
    Account,
    NewAccount,
    assert_ledger_clean,
    funded,
    lines_of,
    pay_from_wallet,
    price_of,
    settle_orders,
    wallet_figures,
)
from topup.kit import clock
from topup.runtime import Runtime


def shown(lines: list[dict[str, Any]]) -> list[tuple[str, int, str | None, str]]:
    """(kind, signed amount, order id, status) of each line."""
    for line in lines:
        assert line["amount"]["currency"] == "EUR"
    return [
        (line["kind"], line["amount"]["amount"], line["order_id"], line["status"]) for line in lines
    ]


async def order_id_of(client: httpx.AsyncClient, account: Account, phone: str) -> str:
    response = await pay_from_wallet(client, account, phone)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def test_a_top_up_shows_as_a_pending_payment_then_as_a_posted_one(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    price = await price_of(client)
    await funded(client, account, 2000)
    clock.advance(1)  # newest first is then unambiguous

    order_id = await order_id_of(client, account, SUCCEEDS_LATER)

    assert shown(await lines_of(client, account)) == [
        ("order_payment", -price, order_id, "pending"),
        ("funding", 2000, None, "posted"),
    ]
    await settle_orders(runtime)
    lines = await lines_of(client, account)
    assert shown(lines) == [
        ("order_payment", -price, order_id, "posted"),
        ("funding", 2000, None, "posted"),
    ]
    # The posted lines add up to the balance.
    assert (
        sum(line["amount"]["amount"] for line in lines)
        == (await wallet_figures(client, account))[0]
    )
    await assert_ledger_clean(runtime)


async def test_a_released_hold_leaves_no_line(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 2000)
    await order_id_of(client, account, FAILS_LATER)
    assert [line["status"] for line in await lines_of(client, account)] == ["pending", "posted"]

    await settle_orders(runtime)

    assert shown(await lines_of(client, account)) == [("funding", 2000, None, "posted")]


async def test_pages_of_one_line_walk_every_line_once_newest_first(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 500)
    await funded(client, account, 700)
    await order_id_of(client, account, SUCCEEDS)
    await funded(client, account, 900)
    await order_id_of(client, account, SUCCEEDS_LATER)  # stays pending: a hold in the walk
    await order_id_of(client, account, FAILS_AT_ONCE)  # its hold is released: no line
    everything = await lines_of(client, account, limit=100)
    assert [(line["kind"], line["status"]) for line in everything] == [
        ("order_payment", "pending"),
        ("funding", "posted"),
        ("order_payment", "posted"),
        ("funding", "posted"),
        ("funding", "posted"),
    ]

    walked: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(len(everything) + 1):
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = await client.get(
            "/v1/wallet/transactions", params=params, headers=account.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) == 1
        walked += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert [line["id"] for line in walked] == [line["id"] for line in everything]
    assert len({line["id"] for line in walked}) == len(walked)
    stamps = [line["created_at"] for line in walked]
    assert stamps == sorted(stamps, reverse=True)


async def test_the_statement_is_the_customers_own(
    client: httpx.AsyncClient, accounts: NewAccount
) -> None:
    first, second = await accounts(), await accounts()
    await funded(client, first, 500)
    await funded(client, second, 600)

    assert shown(await lines_of(client, second)) == [("funding", 600, None, "posted")]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(b"yesterday|tr_1").decode(),
        base64.urlsafe_b64encode(b"no separator").decode(),
        base64.urlsafe_b64encode(b"2024-01-01T00:00:00|tr_1").decode(),  # no offset
        base64.urlsafe_b64encode(b"0001-01-01T00:00:00+01:00|tr_1").decode(),  # before year 1 UTC
        base64.urlsafe_b64encode(b"9999-12-31T23:59:59-05:00|tr_1").decode(),  # past 9999 UTC
    ],
)
async def test_a_cursor_we_did_not_give_is_422(
    client: httpx.AsyncClient, accounts: NewAccount, cursor: str
) -> None:
    account = await accounts()

    response = await client.get(
        "/v1/wallet/transactions", params={"cursor": cursor}, headers=account.headers
    )

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (
        422,
        "invalid_cursor",
        "cursor",
    )


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_page_holds_1_to_100_lines(
    client: httpx.AsyncClient, accounts: NewAccount, limit: int
) -> None:
    account = await accounts()

    response = await client.get(
        "/v1/wallet/transactions", params={"limit": limit}, headers=account.headers
    )

    assert response.status_code == 422
