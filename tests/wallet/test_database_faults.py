"""POST /v1/wallet/fund when the database connection drops mid-transaction, and the worker
when its connection drops in an order's step: 503 and a retry that funds once; a worker
round that survives and a next round that finishes the order. On both databases."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from tests.fixtures.customers import logged_in_customer
from tests.fixtures.db_faults import ConnectionDropper, assert_unavailable
from tests.orders.conftest import order_body, order_of, place, settle
from tests.wallet.support import Account, assert_ledger_clean, fund, fund_body, wallet_of
from topup.kit.ids import new_id
from topup.runtime import Runtime
from topup.wallet.models import FundingStatus, WalletFunding
from topup.worker import run_forever

AUTHORIZED = "^UPDATE orders SET gateway_reference"  # an order's step records its authorization


@pytest.mark.parametrize(
    "statement",
    ["^INSERT INTO wallet_fundings", "^UPDATE wallet_fundings", "^INSERT INTO transfers"],
)
async def test_a_funding_cut_off_answers_503_and_the_retry_credits_once(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper, statement: str
) -> None:
    made = await logged_in_customer(runtime)
    account = Account(made.id, made.headers)
    key = new_id("key")
    dropper.arm(statement)

    assert_unavailable(await fund(faulty_client, account, fund_body(2000), key=key))

    assert dropper.dropped
    retried = await fund(faulty_client, account, fund_body(2000), key=key)
    assert retried.status_code == 201, retried.text
    assert (await wallet_of(faulty_client, account))["balance"]["amount"] == 2000
    async with runtime.session_factory() as session:
        fundings = list(
            await session.scalars(select(WalletFunding).where(WalletFunding.customer_id == made.id))
        )
    assert [funding.status for funding in fundings] == [FundingStatus.credited]
    await assert_ledger_clean(runtime)


async def test_a_worker_step_cut_off_leaves_the_order_for_the_next_round(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper
) -> None:
    customer = await logged_in_customer(runtime)
    dropper.arm(AUTHORIZED)  # the fast path's first step records nothing
    placed = (await place(faulty_client, customer.headers, order_body())).json()
    dropper.arm(AUTHORIZED)  # and the worker's first round neither

    await settle(runtime, rounds=1)  # a round whose step failed returns; it does not raise

    assert len(dropper.dropped) == 2
    await settle(runtime)
    assert (await order_of(faulty_client, customer.headers, placed["id"]))["status"] == "succeeded"
    await assert_ledger_clean(runtime)


async def test_the_worker_loop_survives_a_dropped_claim_and_moves_the_order_on(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper
) -> None:
    customer = await logged_in_customer(runtime)
    dropper.arm(AUTHORIZED)
    placed = (await place(faulty_client, customer.headers, order_body())).json()
    dropper.arm(r"^SELECT orders\.id\s+FROM orders")  # the loop's query for due orders

    loop = asyncio.create_task(run_forever(runtime, idle_seconds=0.05))
    try:
        async with asyncio.timeout(30):
            while (await order_of(faulty_client, customer.headers, placed["id"]))[
                "status"
            ] != "succeeded":
                assert not loop.done(), "the worker loop ended"
                await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert len(dropper.dropped) == 2
    await assert_ledger_clean(runtime)
