"""Orders placed at once are checked one after another: none slips under a limit that only
some of them fit, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.risk.conftest import Risky
from tests.risk.support import nigerian, set_limit, set_signal, visa

AT_ONCE = 8
LIMIT = 3


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """(HTTP status, failure_code) per answer: a refusal at the door shows its error code."""
    counted: Counter[tuple[int, str | None]] = Counter()
    for response in responses:
        body = response.json()
        code = body["failure_code"] if response.status_code == 201 else body["error"]["code"]
        counted[(response.status_code, code)] += 1
    return counted


async def test_eight_buyers_at_once_get_no_more_top_ups_to_one_number_than_the_limit(
    risky: Risky,
) -> None:
    await set_limit(risky.runtime, "recipient-day", max_count=LIMIT, max_amount=None)
    buyers = [await risky.buyer() for _ in range(AT_ONCE)]
    phone = nigerian(1)

    responses = await asyncio.gather(
        *(
            risky.order(headers, phone, number=visa(index), confirm_duplicate=True)
            for index, (_, headers) in enumerate(buyers)
        )
    )

    assert outcomes(list(responses)) == {
        (201, None): LIMIT,
        (201, "limit_exceeded"): AT_ONCE - LIMIT,
    }


async def test_one_buyer_at_once_gets_no_more_top_ups_than_the_account_limit(
    risky: Risky,
) -> None:
    await set_limit(risky.runtime, "customer-day", max_count=LIMIT, max_amount=None)
    _, headers = await risky.buyer()

    responses = await asyncio.gather(
        *(risky.order(headers, nigerian(10 + index)) for index in range(AT_ONCE))
    )

    assert outcomes(list(responses)) == {
        (201, None): LIMIT,
        (201, "limit_exceeded"): AT_ONCE - LIMIT,
    }


async def test_eight_accounts_at_once_pay_no_more_often_with_one_card_than_the_limit(
    risky: Risky,
) -> None:
    await set_limit(risky.runtime, "card-day", max_count=LIMIT, max_amount=None)
    await set_signal(risky.runtime, "card_on_many_accounts", enabled=False)  # it would block
    buyers = [await risky.buyer() for _ in range(AT_ONCE)]
    shared = visa(1)

    responses = await asyncio.gather(
        *(
            risky.order(headers, nigerian(20 + index), number=shared)
            for index, (_, headers) in enumerate(buyers)
        )
    )

    assert outcomes(list(responses)) == {
        (201, None): LIMIT,
        (201, "limit_exceeded"): AT_ONCE - LIMIT,
    }


async def test_one_number_sent_eight_times_at_once_is_placed_once_and_warned_of_seven_times(
    risky: Risky,
) -> None:
    _, headers = await risky.buyer()

    responses = await asyncio.gather(*(risky.order(headers, nigerian(30)) for _ in range(AT_ONCE)))

    assert outcomes(list(responses)) == {
        (201, None): 1,
        (409, "duplicate_recipient"): AT_ONCE - 1,
    }
