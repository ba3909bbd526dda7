"""The ledger on both databases: balances, holds, idempotency, refusals, immutability."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from topup.kit import clock
from topup.kit.db import create_session_factory, unit_of_work
from topup.kit.errors import Conflict
from topup.kit.money import Money
from topup.ledger import service as ledger
from topup.ledger.checks import check_ledger
from topup.ledger.models import LedgerAccount

Factory = async_sessionmaker[AsyncSession]
WALLET, CLEARING, SALES, NAIRA = "wallet:ada", "card_clearing:sandbox", "sales:eur", "float:ngn"


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


@pytest.fixture
async def factory(empty_engine: AsyncEngine) -> Factory:
    factory = create_session_factory(empty_engine)
    async with unit_of_work(factory) as session:
        await ledger.open_account(
            session, WALLET, code="wallet", currency="EUR", never_negative=True
        )
        await ledger.open_account(session, CLEARING, code="card_clearing", currency="EUR")
        await ledger.open_account(session, SALES, code="sales", currency="EUR")
        await ledger.open_account(session, NAIRA, code="supplier_float", currency="NGN")
    return factory


async def balances(factory: async_sessionmaker[AsyncSession], account_id: str) -> tuple[int, ...]:
    async with factory() as session:
        account = await session.get(LedgerAccount, account_id)
        assert account is not None
        return (
            account.debits_posted,
            account.credits_posted,
            account.debits_pending,
            account.credits_pending,
        )


async def fund_wallet(factory: async_sessionmaker[AsyncSession], cents: int, key: str) -> None:
    async with unit_of_work(factory) as session:
        await ledger.record(
            session,
            kind="wallet_funding",
            reference="ada",
            idempotency_key=key,
            movements=[ledger.Movement(CLEARING, WALLET, eur(cents))],
        )


async def assert_ledger_clean(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []


async def test_a_movement_debits_one_account_and_credits_the_other(factory: Factory) -> None:
    await fund_wallet(factory, 1000, "fund-1")
    assert await balances(factory, CLEARING) == (1000, 0, 0, 0)
    assert await balances(factory, WALLET) == (0, 1000, 0, 0)
    await assert_ledger_clean(factory)


async def test_the_same_key_records_once(factory: Factory) -> None:
    for _ in range(3):
        await fund_wallet(factory, 1000, "fund-once")
    assert await balances(factory, WALLET) == (0, 1000, 0, 0)
    async with factory() as session:
        count = await session.scalar(text("SELECT count(*) FROM transfers"))
    assert count == 1


async def test_a_wallet_never_goes_below_zero(factory: Factory) -> None:
    await fund_wallet(factory, 1000, "fund")
    async with unit_of_work(factory) as session:
        with pytest.raises(ledger.LedgerRefused) as caught:
            await ledger.record(
                session,
                kind="purchase",
                reference="o1",
                idempotency_key="spend",
                movements=[ledger.Movement(WALLET, SALES, eur(1001))],
            )
        assert caught.value.code == "insufficient_balance"
        # The savepoint kept the transaction usable: a smaller spend still goes through.
        await ledger.record(
            session,
            kind="purchase",
            reference="o1",
            idempotency_key="spend-2",
            movements=[ledger.Movement(WALLET, SALES, eur(400))],
        )
    assert await balances(factory, WALLET) == (400, 1000, 0, 0)
    await assert_ledger_clean(factory)


async def test_a_hold_counts_against_the_wallet_until_resolved(factory: Factory) -> None:
    await fund_wallet(factory, 1000, "fund")
    later = clock.now() + timedelta(hours=24)
    async with unit_of_work(factory) as session:
        first = await ledger.hold(
            session,
            kind="order_hold",
            reference="o1",
            idempotency_key="hold-1",
            movement=ledger.Movement(WALLET, SALES, eur(800)),
            timeout_at=later,
        )
        with pytest.raises(ledger.LedgerRefused):
            await ledger.hold(
                session,
                kind="order_hold",
                reference="o2",
                idempotency_key="hold-2",
                movement=ledger.Movement(WALLET, SALES, eur(300)),
                timeout_at=later,
            )
    assert await balances(factory, WALLET) == (0, 1000, 800, 0)
    async with unit_of_work(factory) as session:
        await ledger.post_hold(session, first.id, idempotency_key="post-1", amount=eur(500))
    # 500 moved, the other 300 of the hold released.
    assert await balances(factory, WALLET) == (500, 1000, 0, 0)
    assert await balances(factory, SALES) == (0, 500, 0, 0)
    await assert_ledger_clean(factory)


async def hold_for(factory: Factory, cents: int, key: str, hours: int = 24) -> str:
    async with unit_of_work(factory) as session:
        transfer = await ledger.hold(
            session,
            kind="order_hold",
            reference=key,
            idempotency_key=key,
            movement=ledger.Movement(CLEARING, SALES, eur(cents)),
            timeout_at=clock.now() + timedelta(hours=hours),
        )
    return transfer.id


async def test_a_hold_resolves_once(factory: Factory) -> None:
    held = await hold_for(factory, 700, "hold")
    async with unit_of_work(factory) as session:
        voided = await ledger.void_hold(session, held, idempotency_key="void")
        again = await ledger.void_hold(session, held, idempotency_key="void-retry")
        assert again.id == voided.id  # a retried void finds the first one
        with pytest.raises(Conflict) as caught:
            await ledger.post_hold(session, held, idempotency_key="post")
        assert caught.value.code == "hold_already_resolved"
    assert await balances(factory, CLEARING) == (0, 0, 0, 0)
    await assert_ledger_clean(factory)


@pytest.mark.parametrize("cents", [0, 701])
async def test_a_hold_cannot_post_nothing_or_more_than_it_holds(
    factory: Factory, cents: int
) -> None:
    held = await hold_for(factory, 700, "hold")
    async with unit_of_work(factory) as session:
        with pytest.raises((Conflict, ValueError)):
            await ledger.post_hold(
                session, held, idempotency_key="post", amount=Money(cents, "EUR")
            )


async def test_a_hold_past_its_timeout_is_a_breach_until_released(factory: Factory) -> None:
    await hold_for(factory, 700, "hold", hours=24)
    await assert_ledger_clean(factory)
    clock.advance(24 * 3600 + 1)
    async with factory() as session:
        breaches = await check_ledger(session)
    assert [breach.invariant for breach in breaches] == ["holds_resolved_in_time"]
    async with unit_of_work(factory) as session:
        assert await ledger.void_expired_holds(session) == 1
    await assert_ledger_clean(factory)


async def test_accounts_and_currencies_must_match(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        with pytest.raises(Conflict) as caught:
            await ledger.record(
                session,
                kind="x",
                reference="x",
                idempotency_key="x",
                movements=[ledger.Movement(CLEARING, NAIRA, eur(100))],
            )
        assert caught.value.code == "currency_mismatch"
        with pytest.raises(Conflict) as missing:
            await ledger.record(
                session,
                kind="x",
                reference="x",
                idempotency_key="y",
                movements=[ledger.Movement(CLEARING, "nowhere", eur(100))],
            )
        assert missing.value.code == "ledger_account_not_found"


async def test_the_database_refuses_a_transfer_between_currencies(factory: Factory) -> None:
    """Even raw SQL cannot make an entry that does not balance in each currency."""
    await fund_wallet(factory, 100, "fund")
    with pytest.raises(DBAPIError):
        await insert_raw_transfer(factory, debit=CLEARING, credit=NAIRA)
    await insert_raw_transfer(factory, debit=CLEARING, credit=SALES)  # the same, balanced


async def insert_raw_transfer(factory: Factory, *, debit: str, credit: str) -> None:
    """A transfer written by raw SQL, past every check the service makes."""
    async with unit_of_work(factory) as session:
        entry = await session.scalar(text("SELECT id FROM journal_entries"))
        await session.execute(
            text(
                "INSERT INTO transfers (id, entry_id, kind, debit_account_id, credit_account_id,"
                " currency, amount, created_at) VALUES (:id, :entry, 'posted', :debit, :credit,"
                " 'EUR', 5, :now)"
            ),
            {
                "id": f"tr_{debit}_{credit}",
                "entry": entry,
                "debit": debit,
                "credit": credit,
                "now": clock.now(),
            },
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transfers SET amount = 1",
        "DELETE FROM transfers",
        "UPDATE journal_entries SET kind = 'other'",
        "DELETE FROM journal_entries",
    ],
)
async def test_ledger_rows_are_immutable(factory: Factory, statement: str) -> None:
    await fund_wallet(factory, 100, "fund")
    with pytest.raises(DBAPIError, match="immutable"):
        async with unit_of_work(factory) as session:
            await session.execute(text(statement))
    await assert_ledger_clean(factory)


async def test_the_check_finds_a_balance_that_drifted(factory: Factory) -> None:
    await fund_wallet(factory, 100, "fund")
    async with unit_of_work(factory) as session:
        await session.execute(
            text("UPDATE ledger_accounts SET credits_posted = 99 WHERE id = :id"), {"id": WALLET}
        )
    async with factory() as session:
        breaches = await check_ledger(session)
    assert [(breach.invariant, breach.subject) for breach in breaches] == [
        ("balance_equals_transfers", WALLET)
    ]


async def test_concurrent_spends_never_overdraw_a_wallet(
    factory: Factory, empty_engine: AsyncEngine
) -> None:
    """20 spends of 100 race for a wallet of 1,000: exactly 10 pass, on both databases."""
    await fund_wallet(factory, 1000, "fund")

    async def spend(number: int) -> bool:
        try:
            async with unit_of_work(factory) as session:
                await ledger.record(
                    session,
                    kind="purchase",
                    reference=f"o{number}",
                    idempotency_key=f"spend-{number}",
                    movements=[ledger.Movement(WALLET, SALES, eur(100))],
                )
        except ledger.LedgerRefused:
            return False
        return True

    results = await asyncio.gather(*(spend(number) for number in range(20)))
    assert results.count(True) == 10
    assert await balances(factory, WALLET) == (1000, 1000, 0, 0)
    await assert_ledger_clean(factory)


async def test_entries_over_the_same_accounts_in_any_order_never_deadlock(
    factory: Factory,
) -> None:
    """Entries race over the same house accounts, each naming them in its own order: an
    entry locks its accounts in id order, so all of them commit (PostgreSQL updates rows
    in the order it scans them, which changes as rows get new versions, and would abort
    one of two crossing entries as a deadlock)."""
    house = [f"house:{letter}" for letter in "abcdefgh"]
    async with unit_of_work(factory) as session:
        for account_id in house:
            await ledger.open_account(session, account_id, code="house", currency="EUR")

    async def entry(number: int) -> None:
        order = house[number % 8 :] + house[: number % 8]
        if number % 2:
            order.reverse()
        async with unit_of_work(factory) as session:
            for step in range(6):
                await ledger.record(
                    session,
                    kind="spread",
                    reference=f"o{number}",
                    idempotency_key=f"spread-{number}-{step}",
                    movements=[
                        ledger.Movement(debit, credit, eur(1))
                        for debit, credit in itertools.pairwise(order)
                    ],
                )
                await asyncio.sleep(0)  # let the others take their locks meanwhile

    await asyncio.gather(*(entry(number) for number in range(80)))
    await assert_ledger_clean(factory)
