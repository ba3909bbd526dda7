"""The review decision is taken once: by one person, or by the deadline, never by both;
staff cannot decide for themselves; what changed while the order waited still counts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.backoffice.test_endpoints import get, held_order, staff
from tests.fixtures.risky import Risky
from tests.orders.conftest import settle
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import Conflict
from topup.orders import review
from topup.orders.lifecycle import REVIEW_LIMIT, STEPS, advance
from topup.orders.models import Order, OrderStatus
from topup.providers.payments.sandbox_models import SandboxPayment
from topup.risk.models import RiskDecision


async def test_an_approval_after_the_deadline_is_refused(risky: Risky) -> None:
    order_id, _, support = await held_order(risky)
    clock.advance(REVIEW_LIMIT.total_seconds())

    response = await risky.http.post(f"/v1/admin/reviews/{order_id}/approve", headers=support)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_in_review"


async def test_an_approval_just_before_the_deadline_worker_is_never_voided(risky: Risky) -> None:
    order_id, _, support_headers = await held_order(risky)
    async with risky.runtime.session_factory() as session:
        stale = await session.get(Order, order_id)  # the worker read it, undecided
    assert stale is not None
    support_id = (await get(risky, "/v1/me", support_headers))["customer"]["id"]
    async with unit_of_work(risky.runtime.session_factory) as session:
        await review.approve(session, order_id, actor=support_id)  # a person is faster
    clock.advance(REVIEW_LIMIT.total_seconds())

    await STEPS[OrderStatus.review](risky.runtime.order_deps(), stale)  # the worker goes on

    async with risky.runtime.session_factory() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        assert (order.status, order.review_decision) == ("authorized", "approved")
        payments = (await session.scalars(select(SandboxPayment))).all()
        assert [payment.status for payment in payments] == ["authorized"]  # not voided
    await advance(risky.runtime.order_deps(), order_id)
    await settle(risky.runtime, rounds=2)
    async with risky.runtime.session_factory() as session:
        delivered = await session.get(Order, order_id)
        assert delivered is not None
        assert (delivered.status, delivered.payment_status) == ("succeeded", "captured")


async def test_a_second_decision_is_refused_whichever_it_is(risky: Risky) -> None:
    order_id, _, support = await held_order(risky)
    assert (
        await risky.http.post(f"/v1/admin/reviews/{order_id}/approve", headers=support)
    ).status_code == 200

    late = await risky.http.post(
        f"/v1/admin/reviews/{order_id}/reject", json={"reason": "too late"}, headers=support
    )

    assert late.status_code == 409


async def test_the_expiry_once_claimed_wins_over_a_late_approval(risky: Risky) -> None:
    order_id, _, support_headers = await held_order(risky)
    support_id = (await get(risky, "/v1/me", support_headers))["customer"]["id"]
    clock.advance(REVIEW_LIMIT.total_seconds())
    await settle(risky.runtime, rounds=1)

    async with unit_of_work(risky.runtime.session_factory) as session:
        with pytest.raises(Conflict):
            await review.approve(session, order_id, actor=support_id)


async def test_nobody_reviews_their_own_order_or_blocks_their_own_account(risky: Risky) -> None:
    _, admin = await staff(risky, "admin")
    await risky.http.put(
        "/v1/admin/rules/thresholds",
        json={"review_score": 10, "reject_score": 100, "duplicate_window_seconds": 120},
        headers=admin,
    )
    support_id, support = await risky.buyer(role="support", country_iso2="GB")
    placed = await risky.order(support)
    await settle(risky.runtime, rounds=2)

    own_order = await risky.http.post(
        f"/v1/admin/reviews/{placed.json()['id']}/approve", headers=support
    )
    own_account = await risky.http.delete(
        f"/v1/admin/customers/{support_id}/block", headers=support
    )

    assert own_order.status_code == 403
    assert own_order.json()["error"]["code"] == "own_order"
    assert own_account.status_code == 403
    assert own_account.json()["error"]["code"] == "own_account"


async def test_a_blocked_staff_account_loses_the_admin_api(risky: Risky) -> None:
    _, admin = await staff(risky, "admin")
    support_id, support = await staff(risky)
    blocked = await risky.http.post(
        f"/v1/admin/customers/{support_id}/block", json={"reason": "compromised"}, headers=admin
    )
    assert blocked.status_code == 200

    response = await risky.http.get("/v1/admin/rules", headers=support)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_blocked"


async def test_a_card_blocked_while_the_order_waited_cannot_be_approved(risky: Risky) -> None:
    order_id, _, support = await held_order(risky)
    seen = await get(risky, f"/v1/admin/orders/{order_id}", support)
    await risky.http.post(
        "/v1/admin/cards/blocks",
        json={"fingerprint": seen["card_fingerprint"], "reason": "reported stolen"},
        headers=support,
    )

    response = await risky.http.post(f"/v1/admin/reviews/{order_id}/approve", headers=support)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "card_blocked"


async def test_a_long_rule_description_still_fits_the_rejection(risky: Risky) -> None:
    _, admin = await staff(risky, "admin")
    body = {
        "scope": "recipient",
        "window_seconds": 3600,
        "max_count": 0,
        "description": "x" * 200,
    }
    assert (
        await risky.http.put("/v1/admin/rules/limits/none", json=body, headers=admin)
    ).status_code == 200
    _, buyer = await risky.buyer()

    response = await risky.order(buyer)

    assert response.status_code == 201, response.text
    assert response.json()["failure_code"] == "limit_exceeded"
    assert len(response.json()["failure_message"]) <= 200


async def test_a_foreign_card_is_a_foreign_card_whatever_residence_is_stated(risky: Risky) -> None:
    _, buyer = await risky.buyer(country_iso2="GB", residence_country="US")

    placed = await risky.order(buyer)  # an American test card, a British phone

    assert placed.status_code == 201
    async with risky.runtime.session_factory() as session:
        decision = await session.scalar(
            select(RiskDecision).where(RiskDecision.order_id == placed.json()["id"])
        )
    assert decision is not None
    assert [signal["id"] for signal in decision.inputs["signals"]] == ["card_country_mismatch"]


async def test_the_buyer_hears_the_order_is_checked_and_then_how_it_ended(risky: Risky) -> None:
    _, admin = await staff(risky, "admin")
    _, support = await staff(risky)
    await risky.http.put(
        "/v1/admin/rules/thresholds",
        json={"review_score": 10, "reject_score": 100, "duplicate_window_seconds": 120},
        headers=admin,
    )
    email = "held@example.com"
    _, buyer = await risky.buyer(country_iso2="GB", email=email, email_key=email)
    placed = await risky.order(buyer)
    await settle(risky.runtime, rounds=2)

    [checking] = await outbox(risky, email)
    assert checking["kind"] == "order_in_review"
    assert checking["subject"] == "We are checking your top-up to +234 803 123 4567"
    assert "reserved on your card (Visa •••• 4242), not charged" in checking["body"]
    assert "within 20 hours" in checking["body"]

    await risky.http.post(
        f"/v1/admin/reviews/{placed.json()['id']}/reject", json={"reason": "r"}, headers=support
    )

    assert [message["kind"] for message in await outbox(risky, email)] == [
        "order_failed",
        "order_in_review",
    ]


async def outbox(risky: Risky, to: str) -> list[dict[str, Any]]:
    response = await risky.http.get("/v1/sandbox/messages", params={"to": to})
    assert response.status_code == 200
    data: list[dict[str, Any]] = response.json()["data"]
    return data
