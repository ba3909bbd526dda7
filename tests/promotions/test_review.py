"""Promo codes on orders the risk rules stop: a rejected order never holds a use, and an
order rejected in review gives its use back. On a fresh database with the shipped rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.fixtures.risky import Risky
from tests.orders.conftest import Headers, settle
from tests.promotions.conftest import code_terms
from topup.ledger.checks import check_ledger
from topup.promotions.models import PromoCode, PromoRedemption


async def issued_code(risky: Risky, admin: Headers) -> dict[str, Any]:
    response = await risky.http.post(
        "/v1/admin/promo-codes", json=code_terms(max_redemptions=1), headers=admin
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def set_thresholds(risky: Risky, admin: Headers, *, review: int, reject: int) -> None:
    """The card-country signal (weight 20) then sends an order to review or rejects it."""
    response = await risky.http.put(
        "/v1/admin/rules/thresholds",
        json={"review_score": review, "reject_score": reject, "duplicate_window_seconds": 120},
        headers=admin,
    )
    assert response.status_code == 200, response.text


async def use_of(risky: Risky, code_id: str) -> tuple[int, list[str]]:
    """(the code's redeemed counter, its redemptions' statuses)."""
    async with risky.runtime.session_factory() as session:
        code = await session.get(PromoCode, code_id)
        assert code is not None
        query = select(PromoRedemption.status).where(PromoRedemption.promo_code_id == code_id)
        return code.redeemed, list((await session.scalars(query)).all())


async def test_an_order_rejected_by_a_rule_never_takes_a_use(risky: Risky) -> None:
    _, admin = await risky.buyer(role="admin")
    issued = await issued_code(risky, admin)
    await set_thresholds(risky, admin, review=5, reject=10)
    _, buyer = await risky.buyer(country_iso2="GB")  # a US test card on a British account

    placed = await risky.order(buyer, promo_code=issued["code"])

    assert placed.status_code == 201, placed.text
    assert (placed.json()["status"], placed.json()["promo_code"]) == ("rejected", issued["code"])
    assert await use_of(risky, issued["id"]) == (0, [])


async def test_an_order_rejected_in_review_gives_its_use_back(risky: Risky) -> None:
    _, admin = await risky.buyer(role="admin")
    _, support = await risky.buyer(role="support")
    issued = await issued_code(risky, admin)
    await set_thresholds(risky, admin, review=10, reject=100)
    _, buyer = await risky.buyer(country_iso2="GB")
    placed = await risky.order(buyer, promo_code=issued["code"])
    assert placed.status_code == 201, placed.text
    await settle(risky.runtime, rounds=2)
    order_id = placed.json()["id"]
    held = await risky.http.get(f"/v1/orders/{order_id}", headers=buyer)
    assert held.json()["status"] == "review"
    assert await use_of(risky, issued["id"]) == (1, ["reserved"])

    rejected = await risky.http.post(
        f"/v1/admin/reviews/{order_id}/reject", json={"reason": "card abroad"}, headers=support
    )

    assert rejected.status_code == 200, rejected.text
    order = await risky.http.get(f"/v1/orders/{order_id}", headers=buyer)
    assert (order.json()["status"], order.json()["failure_code"]) == (
        "rejected",
        "review_rejected",
    )
    assert await use_of(risky, issued["id"]) == (0, ["released"])
    async with risky.runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []
