"""The duplicate warning, fraud signals and their score, automatic card blocks, the audit log."""

from __future__ import annotations

from typing import Any

from tests.orders.conftest import order_of, settle
from tests.risk.conftest import Risky
from tests.risk.support import (
    DECLINED_CARD,
    FR_CARD,
    nigerian,
    order_decisions,
    orders_of,
    sandbox_payments_of,
    set_limit,
    set_signal,
    stored_order,
    visa,
)
from topup.accounts.models import Customer
from topup.kit import clock
from topup.risk.models import CardBlock

BIG_PRODUCT = "ng-mtn-100000"  # EUR 50 or more, yet under the EUR 80 a day per number


def signal_ids(decision_inputs: dict[str, Any]) -> set[str]:
    return {signal["id"] for signal in decision_inputs["signals"]}


async def test_the_same_number_twice_within_two_minutes_asks_for_confirmation(
    risky: Risky,
) -> None:
    customer_id, headers = await risky.buyer()
    phone = nigerian(1)
    assert (await risky.order(headers, phone)).status_code == 201

    warned = await risky.order(headers, phone)
    assert warned.status_code == 409, warned.text
    assert warned.json()["error"]["code"] == "duplicate_recipient"
    assert warned.json()["error"]["field"] == "confirm_duplicate"
    assert len(await orders_of(risky.runtime, customer_id)) == 1

    confirmed = await risky.order(headers, phone, confirm_duplicate=True)
    assert confirmed.status_code == 201, confirmed.text
    clock.advance(119)
    assert (await risky.order(headers, phone)).status_code == 409
    clock.advance(2)
    later = await risky.order(headers, phone)
    assert later.status_code == 201, later.text
    assert len(await orders_of(risky.runtime, customer_id)) == 3


async def test_a_foreign_card_alone_is_allowed(risky: Risky) -> None:
    _, headers = await risky.buyer()  # an American account

    response = await risky.order(headers, nigerian(2), number=FR_CARD)

    assert response.json()["status"] == "created"
    stored = await stored_order(risky.runtime, response.json()["id"])
    assert (stored.risk_score, stored.risk_outcome) == (20, "allow")
    await settle(risky.runtime)
    assert (await stored_order(risky.runtime, stored.id)).status == "succeeded"


async def test_a_score_of_fifty_holds_the_order_for_review_once_authorized(risky: Risky) -> None:
    # A foreign card (20) on a brand-new account buying EUR 50 or more (30).
    _, headers = await risky.buyer(created_at=clock.now())

    response = await risky.order(headers, nigerian(3), BIG_PRODUCT, number=FR_CARD)
    await settle(risky.runtime)

    assert response.json()["status"] == "created"
    held = await order_of(risky.http, headers, response.json()["id"])
    assert held["status"] == "review"
    assert held["payment"]["status"] == "authorized"
    stored = await stored_order(risky.runtime, held["id"])
    assert (stored.risk_score, stored.risk_outcome) == (50, "review")
    [payment] = await sandbox_payments_of(risky.runtime, held["id"])
    assert payment.status == "authorized"


async def test_a_score_of_a_hundred_rejects_the_order_before_the_card_is_charged(
    risky: Risky,
) -> None:
    # Three declines in the hour (50), a foreign card (20), a new account buying big (30).
    _, headers = await risky.buyer(created_at=clock.now())
    for index in range(3):
        declined = await risky.order(headers, nigerian(10 + index), number=DECLINED_CARD)
        assert declined.status_code == 201, declined.text
    await settle(risky.runtime)

    response = await risky.order(headers, nigerian(13), BIG_PRODUCT, number=FR_CARD)

    rejected = response.json()
    assert rejected["status"] == "rejected"
    assert rejected["failure_code"] == "fraud_suspected"
    assert rejected["payment"]["status"] == "none"
    assert (await stored_order(risky.runtime, rejected["id"])).risk_score == 100
    assert await sandbox_payments_of(risky.runtime, rejected["id"]) == []


async def test_a_card_on_a_third_account_is_blocked_everywhere(risky: Risky) -> None:
    shared = visa(1)
    _, first = await risky.buyer()
    _, second = await risky.buyer()
    _, third = await risky.buyer()
    for index, headers in enumerate((first, second)):
        allowed = await risky.order(headers, nigerian(20 + index), number=shared)
        assert allowed.json()["status"] == "created"

    response = await risky.order(third, nigerian(22), number=shared)

    rejected = response.json()
    assert rejected["status"] == "rejected"
    assert rejected["failure_code"] == "card_blocked"
    assert await sandbox_payments_of(risky.runtime, rejected["id"]) == []
    fingerprint = (await stored_order(risky.runtime, rejected["id"])).card_fingerprint
    async with risky.runtime.session_factory() as session:
        block = await session.get(CardBlock, fingerprint)
    assert block is not None
    assert block.blocked_by == "system"
    _, fourth = await risky.buyer()
    for headers in (first, fourth):
        refused = await risky.order(headers, nigerian(23), number=shared)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "card_blocked"
    assert (await risky.order(first, nigerian(24), number=visa(2))).status_code == 201


async def test_a_brand_new_account_buying_fifty_euros_or_more_is_flagged(risky: Risky) -> None:
    new_customer, new_account = await risky.buyer(created_at=clock.now())
    old_customer, old_account = await risky.buyer()

    new = (await risky.order(new_account, nigerian(30), BIG_PRODUCT, number=visa(3))).json()
    old = (await risky.order(old_account, nigerian(31), BIG_PRODUCT, number=visa(4))).json()
    small = (await risky.order(new_account, nigerian(32), number=visa(3))).json()

    assert new["price"]["amount"] >= 5000
    assert (await stored_order(risky.runtime, new["id"])).risk_score == 30
    assert (await stored_order(risky.runtime, old["id"])).risk_score == 0
    assert (await stored_order(risky.runtime, small["id"])).risk_score == 0
    [decision] = [
        d for d in await order_decisions(risky.runtime, new_customer) if d.order_id == new["id"]
    ]
    assert signal_ids(decision.inputs) == {"new_account_big_order"}
    assert [d.inputs["signals"] for d in await order_decisions(risky.runtime, old_customer)] == [[]]


async def test_the_audit_log_holds_one_decision_per_placed_order(risky: Risky) -> None:
    await set_limit(risky.runtime, "customer-day", max_count=2, max_amount=None)
    customer_id, headers = await risky.buyer()
    allowed = (await risky.order(headers, nigerian(40))).json()
    flagged = (await risky.order(headers, nigerian(41), number=FR_CARD)).json()
    assert (await risky.order(headers, nigerian(41))).status_code == 409  # nothing placed
    limited = (await risky.order(headers, nigerian(42))).json()

    every = await order_decisions(risky.runtime, customer_id)

    # The refusal placed no order, yet the log keeps it (written apart from the rollback).
    assert [row.outcome for row in every if row.order_id is None] == ["duplicate_recipient"]
    rows = [row for row in every if row.order_id is not None]
    placed = [allowed["id"], flagged["id"], limited["id"]]
    assert sorted(row.order_id or "" for row in rows) == sorted(placed)
    decisions = {row.order_id: row for row in rows}
    for order_id in placed:
        decision, stored = decisions[order_id], await stored_order(risky.runtime, order_id)
        assert decision.score == stored.risk_score
        assert decision.outcome == stored.risk_outcome
        assert {window["rule"] for window in decision.inputs["limits"]} == {
            "recipient-day",
            "recipient-week",
            "recipient-month",
            "customer-day",
            "customer-month",
            "card-day",
        }
    assert signal_ids(decisions[flagged["id"]].inputs) == {"card_country_mismatch"}
    assert decisions[flagged["id"]].score == 20
    assert decisions[limited["id"]].outcome == "reject"
    assert decisions[limited["id"]].rule_id == "customer-day"
    customer_day = [
        w for w in decisions[limited["id"]].inputs["limits"] if w["rule"] == "customer-day"
    ]
    assert customer_day == [
        {
            "rule": "customer-day",
            "count": 2,
            "amount": allowed["price"]["amount"] + flagged["price"]["amount"],
        }
    ]


async def test_a_signal_told_to_block_the_account_blocks_it_at_once(risky: Risky) -> None:
    await set_signal(
        risky.runtime,
        "decline_burst",
        params={"declines": 3, "window_seconds": 3600, "block_account": True},
    )
    customer_id, headers = await risky.buyer()
    for index in range(3):
        declined = await risky.order(headers, nigerian(40 + index), number=DECLINED_CARD)
        assert declined.status_code == 201, declined.text

    fourth = await risky.order(headers, nigerian(50))

    assert fourth.status_code == 201, fourth.text
    assert (fourth.json()["status"], fourth.json()["failure_code"]) == (
        "rejected",
        "account_blocked",
    )
    async with risky.runtime.session_factory() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        assert customer.status == "blocked"
        assert customer.block_reason is not None
        assert customer.block_reason.startswith("automatic:")
    refused = await risky.order(headers, nigerian(51))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_blocked"
