"""Orders racing for the last use of a code: exactly one gets it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.promotions.conftest import (
    MakePerson,
    Person,
    assert_ledger_clean,
    finished,
    issue,
    order_with,
    redemptions_of,
    stored_code,
)
from topup.runtime import Runtime

AT_ONCE = 10


def outcomes(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(
        "placed" if response.status_code == 201 else response.json()["error"]["code"]
        for response in responses
    )


async def test_ten_buyers_racing_for_the_last_use_get_it_once(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, max_redemptions=2)
    early = await person()
    placed = await order_with(client, early, issued["code"])
    assert placed.status_code == 201, placed.text  # one use left
    buyers = [await person() for _ in range(AT_ONCE)]

    responses = await asyncio.gather(
        *(order_with(client, buyer, issued["code"]) for buyer in buyers)
    )

    assert outcomes(list(responses)) == {"placed": 1, "promo_code_exhausted": AT_ONCE - 1}
    code = await stored_code(runtime, issued["id"])
    assert code.redeemed == 2
    redemptions = await redemptions_of(runtime, issued["id"])
    assert len(redemptions) == 2
    winner = next(r for r in responses if r.status_code == 201).json()
    winner_buyer = next(b for b, r in zip(buyers, responses, strict=True) if r.status_code == 201)
    order = await finished(client, runtime, winner_buyer, winner["id"])
    assert order["status"] == "succeeded"
    await assert_ledger_clean(runtime)


async def test_one_buyer_racing_ten_orders_gets_the_per_customer_limit(
    client: httpx.AsyncClient, runtime: Runtime, admin: Person, person: MakePerson
) -> None:
    issued = await issue(client, admin, per_customer_limit=2)
    buyer = await person()

    responses = await asyncio.gather(
        *(order_with(client, buyer, issued["code"]) for _ in range(AT_ONCE))
    )

    assert outcomes(list(responses)) == {"placed": 2, "promo_code_limit_reached": AT_ONCE - 2}
    assert (await stored_code(runtime, issued["id"])).redeemed == 2
    assert len(await redemptions_of(runtime, issued["id"])) == 2
