"""``topup.wallet.accounting``: the wallet's ledger account and what is read from it.

The balance is read from the account row; the database, not the code, is the last guard
against an overdrawn wallet, so these tests write to the ledger directly, around the
early check, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from tests.wallet.support import NewAccount, assert_ledger_clean, funded, wallet_account
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import Conflict, InvalidInput
from topup.kit.money import Money
from topup.ledger import service as ledger
from topup.ledger.models import LedgerAccount
from topup.ledger.repository import LedgerRepository
from topup.runtime import Runtime
from topup.wallet import accounting
from topup.wallet.accounting import Balance, ensure_available, wallet_account_id

IN_FLIGHT = "orders_in_flight:EUR"


def account_with(*, credits: int, debits: int, pending: int) -> LedgerAccount:
    return LedgerAccount(
        id="wallet:cus_x:EUR",
        code="wallet",
        currency="EUR",
        credits_posted=credits,
        debits_posted=debits,
        debits_pending=pending,
        credits_pending=0,
    )


def test_a_wallet_without_an_account_holds_nothing() -> None:
    assert Balance.of(None) == Balance(0, 0)
    assert Balance.of(None).available == 0


def test_the_balance_is_what_came_in_less_what_went_out_and_holds_only_reserve() -> None:
    balance = Balance.of(account_with(credits=2000, debits=500, pending=199))

    assert (balance.balance, balance.pending, balance.available) == (1500, 199, 1301)


def test_the_early_check_refuses_more_than_is_available_with_the_figures() -> None:
    balance = Balance(1500, 199)
    ensure_available(balance, 1301, field="payment.wallet")  # all of it: fine

    with pytest.raises(ledger.LedgerRefused) as refused:
        ensure_available(balance, 1302, field="payment.wallet")

    error = refused.value
    assert (error.status_code, error.code, error.field) == (
        402,
        "insufficient_balance",
        "payment.wallet",
    )
    assert "13.01" in error.message
    assert "13.02" in error.message


async def hold(runtime: Runtime, customer_id: str, amount: int, key: str) -> bool:
    """A hold on the wallet written straight to the ledger, past the early check."""
    try:
        async with unit_of_work(runtime.session_factory) as session:
            await ledger.open_account(session, IN_FLIGHT, code="orders_in_flight", currency="EUR")
            await ledger.hold(
                session,
                kind="wallet_order_hold",
                reference=key,
                idempotency_key=key,
                movement=ledger.Movement(
                    wallet_account_id(customer_id), IN_FLIGHT, Money(amount, "EUR")
                ),
                timeout_at=clock.now() + timedelta(hours=1),
            )
    except ledger.LedgerRefused:
        return False
    return True


async def release_all(runtime: Runtime, keys: list[str]) -> None:
    async with unit_of_work(runtime.session_factory) as session:
        repository = LedgerRepository(session)
        for key in keys:
            entry = await repository.entry_by_key(key)
            assert entry is not None
            (transfer,) = await repository.transfers_of(entry.id)
            await ledger.void_hold(session, transfer.id, idempotency_key=f"{key}:void")


async def test_a_wallet_is_opened_never_negative_and_once(
    runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    async with unit_of_work(runtime.session_factory) as session:
        first = await accounting.open_wallet(session, account.id)
        again = await accounting.open_wallet(session, account.id)

    assert first is again
    stored = await wallet_account(runtime, account.id)
    assert (stored.code, stored.currency, stored.customer_id) == ("wallet", "EUR", account.id)
    assert stored.debits_must_not_exceed_credits
    assert not await hold(runtime, account.id, 1, "hold-on-empty")


async def test_holds_racing_past_the_early_check_never_overdraw_the_wallet(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    """20 holds of 100 on 1,000: the account row's constraint lets exactly 10 through."""
    account = await accounts()
    await funded(client, account, 1000)
    keys = [f"{account.id}:race:{number}" for number in range(20)]

    results = await asyncio.gather(*(hold(runtime, account.id, 100, key) for key in keys))

    assert results.count(True) == 10
    wallet = await wallet_account(runtime, account.id)
    assert (wallet.credits_posted, wallet.debits_pending, wallet.debits_posted) == (1000, 1000, 0)
    await release_all(runtime, [key for key, held in zip(keys, results, strict=True) if held])
    await assert_ledger_clean(runtime)


async def test_giving_up_an_empty_wallet_moves_nothing(
    runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()

    async with unit_of_work(runtime.session_factory) as session:
        assert await accounting.give_up_balance(session, account.id, acknowledged=False) == 0


async def test_giving_up_a_balance_needs_the_acknowledgment_and_no_hold(
    client: httpx.AsyncClient, runtime: Runtime, accounts: NewAccount
) -> None:
    account = await accounts()
    await funded(client, account, 2000)
    assert await hold(runtime, account.id, 300, f"{account.id}:held")

    with pytest.raises(Conflict) as in_flight:
        async with unit_of_work(runtime.session_factory) as session:
            await accounting.give_up_balance(session, account.id, acknowledged=True)
    assert in_flight.value.code == "wallet_payment_in_flight"
    await release_all(runtime, [f"{account.id}:held"])
    with pytest.raises(InvalidInput) as unacknowledged:
        async with unit_of_work(runtime.session_factory) as session:
            await accounting.give_up_balance(session, account.id, acknowledged=False)
    assert unacknowledged.value.code == "wallet_balance_remaining"

    async with unit_of_work(runtime.session_factory) as session:
        given = await accounting.give_up_balance(session, account.id, acknowledged=True)
    async with unit_of_work(runtime.session_factory) as session:
        again = await accounting.give_up_balance(session, account.id, acknowledged=True)

    assert (given, again) == (2000, 0)
    async with runtime.session_factory() as session:
        assert await accounting.balance_of(session, account.id) == Balance(0, 0)
    await assert_ledger_clean(runtime)
