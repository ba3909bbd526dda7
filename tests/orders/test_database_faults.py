"""POST /v1/orders when the database connection drops mid-transaction: a clean 503 with
Retry-After, nothing half-written, and the retry with the same Idempotency-Key placing the
order exactly once. On both databases (see tests/fixtures/db_faults.py for how)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.customers import logged_in_customer
from tests.fixtures.db_faults import ConnectionDropper, assert_unavailable
from tests.fixtures.faulty import assert_orders_whole
from tests.orders.conftest import FINAL, order_body, order_of, place, settle
from tests.wallet.support import Account, assert_ledger_clean, funded
from topup.kit.ids import new_id
from topup.runtime import Runtime

# The statements of a placement at which the connection is cut: the key's claim, the
# order row, the risk decision beside it, the key's stored answer.
PLACEMENT_STATEMENTS = [
    "INSERT INTO idempotency_keys",
    "INSERT INTO orders",
    "INSERT INTO risk_decisions",
    "UPDATE idempotency_keys",
]


@pytest.mark.parametrize("statement", PLACEMENT_STATEMENTS)
async def test_a_dropped_connection_answers_503_and_the_retry_places_the_order_once(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper, statement: str
) -> None:
    await _placement_cut_at(faulty_client, runtime, dropper, f"^{statement}")


# Cut as the claim commits (the first COMMIT) and as the order does (the second). Only on
# PostgreSQL: SQLite's file has no connection to lose, and SQLAlchemy's aiosqlite adapter
# skips the commit of a closed handle without a word, which no server would do.
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("nth", [1, 2])
async def test_a_connection_dropped_at_commit_answers_503_and_the_retry_places_once(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper, nth: int
) -> None:
    await _placement_cut_at(faulty_client, runtime, dropper, "^COMMIT", nth=nth)


async def _placement_cut_at(
    faulty_client: httpx.AsyncClient,
    runtime: Runtime,
    dropper: ConnectionDropper,
    pattern: str,
    *,
    nth: int = 1,
) -> None:
    customer = await logged_in_customer(runtime)
    key = new_id("key")
    dropper.arm(pattern, nth=nth)

    failed = await place(faulty_client, customer.headers, order_body(), key)

    assert dropper.dropped, "the connection was never dropped"
    assert_unavailable(failed)
    assert await assert_orders_whole(runtime, customer.id) == []
    retried = await place(faulty_client, customer.headers, order_body(), key)
    assert retried.status_code == 201, retried.text
    again = await place(faulty_client, customer.headers, order_body(), key)
    assert again.json()["id"] == retried.json()["id"]  # the stored answer, not a new order
    await settle(runtime)
    assert (await order_of(faulty_client, customer.headers, retried.json()["id"]))[
        "status"
    ] in FINAL
    assert len(await assert_orders_whole(runtime, customer.id)) == 1
    await assert_ledger_clean(runtime)


async def test_a_wallet_order_cut_at_its_hold_leaves_neither_order_nor_hold(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper
) -> None:
    customer = await logged_in_customer(runtime)
    await funded(faulty_client, Account(customer.id, customer.headers), 2000)
    key = new_id("key")
    wallet_order = order_body(payment={"wallet": True})
    dropper.arm("^INSERT INTO transfers")

    failed = await place(faulty_client, customer.headers, wallet_order, key)

    assert_unavailable(failed)
    assert await assert_orders_whole(runtime, customer.id) == []
    wallet = (await faulty_client.get("/v1/wallet", headers=customer.headers)).json()
    assert wallet["pending"]["amount"] == 0  # no hold without its order
    retried = await place(faulty_client, customer.headers, wallet_order, key)
    assert retried.status_code == 201, retried.text
    await settle(runtime)
    assert len(await assert_orders_whole(runtime, customer.id)) == 1
    await assert_ledger_clean(runtime)


@pytest.mark.parametrize("statement", ["^UPDATE orders SET gateway_reference", "^UPDATE orders"])
async def test_the_fast_path_cut_off_leaves_the_order_to_the_worker(
    faulty_client: httpx.AsyncClient, runtime: Runtime, dropper: ConnectionDropper, statement: str
) -> None:
    customer = await logged_in_customer(runtime)
    dropper.arm(statement)

    placed = await place(faulty_client, customer.headers, order_body())

    assert placed.status_code == 201, placed.text  # answered before the fast path ran
    assert dropper.dropped
    assert (await order_of(faulty_client, customer.headers, placed.json()["id"]))[
        "status"
    ] not in FINAL
    await settle(runtime)
    finished = await order_of(faulty_client, customer.headers, placed.json()["id"])
    assert finished["status"] == "succeeded"
    assert finished["payment"]["status"] == "captured"
    await assert_ledger_clean(runtime)
