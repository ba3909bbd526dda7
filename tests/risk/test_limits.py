"""Rolling-window limits: what counts, when it stops counting, and who shares a limit."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.orders.conftest import order_of, settle
from tests.risk.conftest import Risky
from tests.risk.support import (
    DECLINED_CARD,
    FR_CARD,
    IT_CARD,
    italian,
    log_in_again,
    nigerian,
    sandbox_payments_of,
    set_limit,
    stored_order,
    visa,
)
from topup.kit import clock
from topup.risk.models import LimitRule

DAY = 86400
NINETY_DAYS = 90 * DAY


async def description_of(risky: Risky, rule_id: str) -> str:
    async with risky.runtime.session_factory() as session:
        rule = await session.get(LimitRule, rule_id)
    assert rule is not None
    return rule.description


async def order_as_new_buyer(risky: Risky, index: int, phone: str) -> dict[str, Any]:
    """An order from a buyer of its own, with a card of its own: only the recipient is shared."""
    _, headers = await risky.buyer()
    response = await risky.order(headers, phone, number=visa(index))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_recipient_count_limit_rejects_the_order_past_it_without_touching_the_card(
    risky: Risky,
) -> None:
    await set_limit(risky.runtime, "recipient-day", max_count=2, max_amount=None)
    phone = nigerian(1)
    for index in range(2):
        assert (await order_as_new_buyer(risky, index, phone))["status"] == "created"
    _, headers = await risky.buyer()

    response = await risky.order(headers, phone, number=visa(2))

    assert response.status_code == 201, response.text
    rejected = response.json()
    assert rejected["status"] == "rejected"
    assert rejected["failure_code"] == "limit_exceeded"
    assert await description_of(risky, "recipient-day") in rejected["failure_message"]
    assert rejected["payment"]["status"] == "none"
    assert await sandbox_payments_of(risky.runtime, rejected["id"]) == []
    await settle(risky.runtime)
    after = await order_of(risky.http, headers, rejected["id"])
    assert after == rejected
    assert await sandbox_payments_of(risky.runtime, rejected["id"]) == []


async def test_the_amount_limit_takes_orders_up_to_the_amount_exactly(risky: Risky) -> None:
    phone = nigerian(2)
    first = await order_as_new_buyer(risky, 0, phone)
    price = first["price"]["amount"]
    await set_limit(risky.runtime, "recipient-day", max_count=None, max_amount=2 * price)

    second = await order_as_new_buyer(risky, 1, phone)
    third = await order_as_new_buyer(risky, 2, phone)

    assert second["status"] == "created"
    assert third["status"] == "rejected"
    assert third["failure_code"] == "limit_exceeded"


async def test_the_amount_limit_rejects_a_second_order_one_cent_too_many(risky: Risky) -> None:
    phone = nigerian(3)
    first = await order_as_new_buyer(risky, 0, phone)
    price = first["price"]["amount"]
    await set_limit(risky.runtime, "recipient-day", max_count=None, max_amount=2 * price - 1)

    second = await order_as_new_buyer(risky, 1, phone)

    assert second["status"] == "rejected"
    assert second["failure_code"] == "limit_exceeded"


async def test_an_order_counts_until_exactly_the_window_has_passed(risky: Risky) -> None:
    await set_limit(risky.runtime, "recipient-day", max_count=1, max_amount=None)
    phone = nigerian(4)
    assert (await order_as_new_buyer(risky, 0, phone))["status"] == "created"

    clock.advance(DAY - 1)
    one_second_early = await order_as_new_buyer(risky, 1, phone)
    clock.advance(1)
    on_time = await order_as_new_buyer(risky, 2, phone)

    assert one_second_early["failure_code"] == "limit_exceeded"
    assert on_time["status"] == "created"


async def test_declined_and_failed_orders_do_not_count(risky: Risky) -> None:
    await set_limit(risky.runtime, "recipient-day", max_count=1, max_amount=None)
    declined_phone, failed_phone = nigerian(5), "+2348031230001"
    _, declining = await risky.buyer()
    _, failing = await risky.buyer()
    declined = (await risky.order(declining, declined_phone, number=DECLINED_CARD)).json()
    failed = (await risky.order(failing, failed_phone, number=visa(0))).json()
    await settle(risky.runtime)
    assert (await stored_order(risky.runtime, declined["id"])).status == "declined"
    assert (await stored_order(risky.runtime, failed["id"])).status == "failed"

    after_decline = await order_as_new_buyer(risky, 1, declined_phone)
    after_failure = await order_as_new_buyer(risky, 2, failed_phone)
    over_the_limit = await order_as_new_buyer(risky, 3, declined_phone)

    assert after_decline["status"] == "created"
    assert after_failure["status"] == "created"
    assert over_the_limit["failure_code"] == "limit_exceeded"


async def test_orders_still_pending_or_held_for_review_count(risky: Risky) -> None:
    await set_limit(risky.runtime, "recipient-day", max_count=1, max_amount=None)
    pending_phone, review_phone = "+2348031230004", nigerian(6)  # 0004: pending for ever
    _, headers = await risky.buyer()
    pending = (await risky.order(headers, pending_phone, number=visa(0))).json()
    # A foreign card (20) on a brand-new account buying EUR 50 or more (30): review.
    _, newcomer = await risky.buyer(created_at=clock.now())
    held = (await risky.order(newcomer, review_phone, "ng-mtn-100000", number=FR_CARD)).json()
    await settle(risky.runtime)
    assert (await stored_order(risky.runtime, pending["id"])).status == "pending"
    assert (await stored_order(risky.runtime, held["id"])).status == "review"

    after_pending = await order_as_new_buyer(risky, 1, pending_phone)
    after_review = await order_as_new_buyer(risky, 2, review_phone)

    assert after_pending["failure_code"] == "limit_exceeded"
    assert after_review["failure_code"] == "limit_exceeded"


async def test_the_customer_limit_counts_every_number_one_account_tops_up(risky: Risky) -> None:
    await set_limit(risky.runtime, "customer-day", max_count=2, max_amount=None)
    _, headers = await risky.buyer()
    for index in range(2):
        response = await risky.order(headers, nigerian(10 + index))
        assert response.json()["status"] == "created"

    third = (await risky.order(headers, nigerian(12))).json()
    someone_else = await order_as_new_buyer(risky, 0, nigerian(12))

    assert third["status"] == "rejected"
    assert third["failure_code"] == "limit_exceeded"
    assert await description_of(risky, "customer-day") in third["failure_message"]
    assert someone_else["status"] == "created"


async def test_the_card_limit_counts_one_card_on_every_account_together(risky: Risky) -> None:
    await set_limit(risky.runtime, "card-day", max_count=2, max_amount=None)
    shared = visa(7)
    _, first = await risky.buyer()
    _, second = await risky.buyer()
    assert (await risky.order(first, nigerian(20), number=shared)).json()["status"] == "created"
    assert (await risky.order(second, nigerian(21), number=shared)).json()["status"] == "created"

    same_card = (await risky.order(second, nigerian(22), number=shared)).json()
    other_card = (await risky.order(second, nigerian(23), number=visa(8))).json()

    assert same_card["status"] == "rejected"
    assert same_card["failure_code"] == "limit_exceeded"
    assert await description_of(risky, "card-day") in same_card["failure_message"]
    assert other_card["status"] == "created"


async def test_a_resident_adult_may_buy_three_italian_top_ups_in_ninety_days(
    risky: Risky,
) -> None:
    customer_id, headers = await risky.buyer(date_of_birth=date(1990, 1, 1), residence_country="IT")

    async def buy(phone: str, product_id: str = "it-tim-5") -> dict[str, Any]:
        response = await risky.order(headers, phone, product_id, number=IT_CARD)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    first, second = await buy(italian(0)), await buy(italian(1))
    nigerian_between = await buy(nigerian(30), "ng-mtn-2500")
    third = await buy(italian(2))
    fourth = await buy(italian(3))
    nigerian_after = await buy(nigerian(31), "ng-mtn-2500")

    assert [first["status"], second["status"], third["status"]] == ["created"] * 3
    assert nigerian_between["status"] == "created"
    assert fourth["status"] == "rejected"
    assert fourth["failure_code"] == "limit_exceeded"
    assert await description_of(risky, "it-payg-90d") in fourth["failure_message"]
    assert nigerian_after["status"] == "created"

    clock.advance(NINETY_DAYS)
    headers = await log_in_again(risky.runtime, customer_id)
    assert (await buy(italian(4)))["status"] == "created"


@pytest.mark.parametrize("rule_id", ["recipient-day", "it-payg-90d"])
async def test_a_disabled_rule_no_longer_limits(risky: Risky, rule_id: str) -> None:
    await set_limit(risky.runtime, rule_id, max_count=0)
    _, headers = await risky.buyer(date_of_birth=date(1990, 1, 1), residence_country="IT")
    blocked = (await risky.order(headers, italian(50), "it-tim-5")).json()
    assert blocked["failure_code"] == "limit_exceeded"

    await set_limit(risky.runtime, rule_id, enabled=False)
    allowed = (await risky.order(headers, italian(51), "it-tim-5")).json()

    assert allowed["status"] == "created"
