"""What the wallet tests share: funding and spending through the API, and reading what the
gateway and the ledger hold about one customer's wallet."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import select

from tests.orders.conftest import Headers, card, settle
from topup.accounts import service as accounts_service
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.ledger.checks import check_ledger
from topup.ledger.models import LedgerAccount, Transfer
from topup.providers.payments.sandbox import luhn_valid
from topup.providers.payments.sandbox_models import SandboxPayment
from topup.runtime import Runtime
from topup.wallet.accounting import wallet_account_id
from topup.wallet.models import WalletFunding
from topup.wallet.service import LEASE
from topup.wallet.tasks import run_due

PASSWORD = "correct horse battery"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # card_declined at authorization (DESIGN.md §6)
NO_FUNDS_CARD = "4000000000009995"  # insufficient_funds at authorization
SUCCEEDS = "+2348031234567"  # the simulator delivers at once
SUCCEEDS_LATER = "+2348031230002"  # pending, delivered at the first status check
FAILS_AT_ONCE = "+2348031230001"
FAILS_LATER = "+2348031230003"  # pending, then failed at the first status check
PRODUCT = "ng-mtn-2500"


def unique_card() -> str:
    """A Visa number no other test uses, that the sandbox charges successfully: blocking
    it (by its fingerprint, which the number decides) cannot touch another test's card."""
    while True:
        number = "4" + "".join(str(secrets.randbelow(10)) for _ in range(15))
        if luhn_valid(number):
            return number


@dataclass(frozen=True)
class Account:
    id: str
    headers: Headers


class NewAccount(Protocol):
    """``await accounts()``: a verified customer; ``phone_verified=False`` for one who is not."""

    def __call__(self, *, phone_verified: bool = True) -> Awaitable[Account]: ...


def fund_body(
    amount: int = 2000, *, number: str = GOOD_CARD, currency: str = "EUR"
) -> dict[str, Any]:
    return {"amount": {"amount": amount, "currency": currency}, "payment": card(number)}


async def fund(
    client: httpx.AsyncClient,
    account: Account,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/v1/wallet/fund",
        json=fund_body() if body is None else body,
        headers=account.headers | {"Idempotency-Key": key or new_id("key")},
    )


async def funded(client: httpx.AsyncClient, account: Account, amount: int) -> None:
    """The wallet credited with ``amount`` by card, or the test stops here."""
    response = await fund(client, account, fund_body(amount))
    assert response.status_code == 201, response.text


async def wallet_of(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.get("/v1/wallet", headers=account.headers)
    assert response.status_code == 200, response.text
    wallet: dict[str, Any] = response.json()
    return wallet


def figures(wallet: dict[str, Any]) -> tuple[int, int, int]:
    """(balance, pending, available) of a wallet answer, checking they are all in EUR."""
    parts = [wallet[name] for name in ("balance", "pending", "available")]
    assert {part["currency"] for part in parts} == {"EUR"}
    balance, pending, available = (int(part["amount"]) for part in parts)
    return balance, pending, available


async def wallet_figures(client: httpx.AsyncClient, account: Account) -> tuple[int, int, int]:
    return figures(await wallet_of(client, account))


def wallet_order(phone: str = SUCCEEDS, product_id: str = PRODUCT) -> dict[str, Any]:
    return {"recipient_phone": phone, "product_id": product_id, "payment": {"wallet": True}}


async def pay_from_wallet(
    client: httpx.AsyncClient, account: Account, phone: str = SUCCEEDS, *, key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/orders",
        json=wallet_order(phone),
        headers=account.headers | {"Idempotency-Key": key or new_id("key")},
    )


async def order_of(client: httpx.AsyncClient, account: Account, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/orders/{order_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


async def price_of(client: httpx.AsyncClient, product_id: str = PRODUCT) -> int:
    """The EUR price the catalogue asks for a product (the orders tests check the sums)."""
    operator = "-".join(product_id.split("-")[:2])
    response = await client.get(f"/v1/operators/{operator}/products")
    assert response.status_code == 200, response.text
    [product] = [item for item in response.json()["data"] if item["id"] == product_id]
    return int(product["price"]["amount"])


async def lines_of(
    client: httpx.AsyncClient, account: Account, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/v1/wallet/transactions", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    lines: list[dict[str, Any]] = response.json()["data"]
    return lines


async def fundings_of(runtime: Runtime, customer_id: str) -> list[WalletFunding]:
    async with runtime.session_factory() as session:
        query = select(WalletFunding).where(WalletFunding.customer_id == customer_id)
        return list((await session.scalars(query.order_by(WalletFunding.created_at))).all())


async def card_payments(runtime: Runtime, customer_id: str) -> list[SandboxPayment]:
    """What the gateway holds for the customer's fundings: a funding authorizes under
    ``{funding id}:authorize``, whatever was retried."""
    keys = [f"{funding.id}:authorize" for funding in await fundings_of(runtime, customer_id)]
    async with runtime.session_factory() as session:
        query = select(SandboxPayment).where(SandboxPayment.idempotency_key.in_(keys))
        return list((await session.scalars(query)).all())


async def wallet_credits(runtime: Runtime, customer_id: str) -> list[int]:
    """The amounts of every transfer into the wallet."""
    async with runtime.session_factory() as session:
        query = select(Transfer.amount).where(
            Transfer.credit_account_id == wallet_account_id(customer_id)
        )
        return [int(amount) for amount in (await session.scalars(query)).all()]


async def wallet_account(runtime: Runtime, customer_id: str) -> LedgerAccount:
    async with runtime.session_factory() as session:
        account = await session.get(LedgerAccount, wallet_account_id(customer_id))
    assert account is not None
    return account


async def assert_ledger_clean(runtime: Runtime) -> None:
    async with runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []


async def set_blocked(runtime: Runtime, customer_id: str, reason: str | None) -> None:
    async with unit_of_work(runtime.session_factory) as session:
        await accounts_service.set_blocked(session, customer_id, reason=reason)


async def settle_orders(runtime: Runtime) -> None:
    """Worker rounds until the top-ups of these tests have ended: every simulator outcome
    they use is known by the first status check, in the second round; four leave a margin."""
    await settle(runtime, rounds=4)


async def worker_round_after_the_lease(runtime: Runtime) -> int:
    """A fresh worker's round once every funding lease has run out."""
    clock.advance(LEASE.total_seconds() + 1)
    return await run_due(runtime.funding_deps())
