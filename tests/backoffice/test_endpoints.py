"""``/v1/admin``: rules, the review queue (approve, reject, expire), blocks and the audit
log, on a fresh database with the shipped rules, through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.risky import Risky
from tests.orders.conftest import Headers, settle
from topup.kit import clock
from topup.ledger.checks import check_ledger
from topup.providers.payments.sandbox_models import SandboxPayment

FR_CARD = "4000002500000003"  # Stripe's French test card
LIMIT_X = "/v1/admin/rules/limits/x"
CARDS_SIGNAL = "/v1/admin/rules/signals/many_cards_on_account"


async def staff(risky: Risky, role: str = "support") -> tuple[str, Headers]:
    return await risky.buyer(role=role)


async def lower_review_score(risky: Risky, admin: Headers, score: int = 10) -> None:
    """Make the card-country signal (weight 20) enough for review."""
    response = await risky.http.put(
        "/v1/admin/rules/thresholds",
        json={"review_score": score, "reject_score": 100, "duplicate_window_seconds": 120},
        headers=admin,
    )
    assert response.status_code == 200, response.text


async def held_order(risky: Risky) -> tuple[str, Headers, Headers]:
    """An order held for review after its card was authorized: (id, buyer, support)."""
    _, admin = await staff(risky, "admin")
    await lower_review_score(risky, admin)
    _, buyer = await risky.buyer(country_iso2="GB")  # a US test card on a British account
    placed = await risky.order(buyer)
    assert placed.status_code == 201, placed.text
    await settle(risky.runtime, rounds=2)
    order = await get(risky, f"/v1/orders/{placed.json()['id']}", buyer)
    assert (order["status"], order["payment"]["status"]) == ("review", "authorized")
    _, support = await staff(risky)
    return placed.json()["id"], buyer, support


async def get(risky: Risky, path: str, headers: Headers) -> Any:
    response = await risky.http.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_only_staff_reach_the_admin_api(risky: Risky) -> None:
    _, customer = await risky.buyer()
    _, support = await staff(risky)

    assert (await risky.http.get("/v1/admin/rules")).status_code == 401
    assert (await risky.http.get("/v1/admin/rules", headers=customer)).status_code == 403
    rules = await get(risky, "/v1/admin/rules", support)
    assert {rule["id"] for rule in rules["limits"]} >= {"recipient-day", "it-payg-90d"}
    assert rules["thresholds"]["review_score"] == 50


async def test_changing_a_rule_takes_an_admin_and_is_audited(risky: Risky) -> None:
    _, support = await staff(risky)
    admin_id, admin = await staff(risky, "admin")
    body = {
        "scope": "recipient",
        "window_seconds": 3600,
        "max_count": 2,
        "description": "At most 2 top-ups an hour to one number",
    }

    refused = await risky.http.put(
        "/v1/admin/rules/limits/recipient-hour", json=body, headers=support
    )
    made = await risky.http.put("/v1/admin/rules/limits/recipient-hour", json=body, headers=admin)

    assert refused.status_code == 403
    assert made.status_code == 200, made.text
    assert made.json()["max_count"] == 2
    log = await get(risky, "/v1/admin/audit?limit=5", support)
    [change] = [row for row in log["data"] if row["rule_id"] == "recipient-hour"]
    assert (change["kind"], change["actor"], change["inputs"]["max_count"]) == ("rule", admin_id, 2)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (
            "/v1/admin/rules/limits/x",
            {"scope": "recipient", "window_seconds": 3600, "description": "d"},
            422,
        ),
        (
            "/v1/admin/rules/limits/x",
            {"scope": "planet", "window_seconds": 3600, "max_count": 1, "description": "d"},
            422,
        ),
        (
            "/v1/admin/rules/limits/x",
            {"scope": "card", "window_seconds": 60, "max_count": 1, "description": "d"},
            422,
        ),
        ("/v1/admin/rules/thresholds", {"review_score": 90, "reject_score": 50}, 422),
        ("/v1/admin/rules/signals/no_such_signal", {"weight": 10}, 404),
        (CARDS_SIGNAL, {"weight": 10, "params": {"cards": "x", "window_seconds": 3600}}, 422),
        (CARDS_SIGNAL, {"weight": 10, "params": {"cards": 3}}, 422),
        (CARDS_SIGNAL, {"weight": 10, "params": {"cards": 3, "window_seconds": 3600, "x": 1}}, 422),
        (CARDS_SIGNAL, {"weight": 10, "params": [1, 2]}, 422),
        ("/v1/admin/rules/markets/it", {"description": "lower case"}, 422),
    ],
)
async def test_a_bad_rule_is_refused(risky: Risky, path: str, body: object, status: int) -> None:
    _, admin = await staff(risky, "admin")

    response = await risky.http.put(path, json=body, headers=admin)

    assert response.status_code == status, response.text
    assert "error" in response.json()


async def test_an_approved_order_is_delivered_and_captured(risky: Risky) -> None:
    order_id, buyer, support = await held_order(risky)
    queue = await get(risky, "/v1/admin/reviews", support)
    assert [item["order"]["id"] for item in queue["data"]] == [order_id]
    assert queue["data"][0]["review_deadline"] is not None

    response = await risky.http.post(f"/v1/admin/reviews/{order_id}/approve", headers=support)

    assert response.status_code == 200, response.text
    order = await get(risky, f"/v1/orders/{order_id}", buyer)
    assert (order["status"], order["payment"]["status"]) == ("succeeded", "captured")
    assert (await get(risky, "/v1/admin/reviews", support))["data"] == []
    again = await risky.http.post(f"/v1/admin/reviews/{order_id}/approve", headers=support)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_not_in_review"


async def test_a_rejected_review_voids_the_hold(risky: Risky) -> None:
    order_id, buyer, support = await held_order(risky)

    response = await risky.http.post(
        f"/v1/admin/reviews/{order_id}/reject", json={"reason": "card used abroad"}, headers=support
    )

    assert response.status_code == 200, response.text
    staff_view = response.json()
    assert staff_view["review_decision"] == "rejected"
    order = await get(risky, f"/v1/orders/{order_id}", buyer)
    assert (order["status"], order["payment"]["status"], order["failure_code"]) == (
        "rejected",
        "voided",
        "review_rejected",
    )
    outcomes = [(row["kind"], row["outcome"]) for row in staff_view["decisions"]]
    assert ("review", "rejected") in outcomes
    async with risky.runtime.session_factory() as session:
        payments = (await session.scalars(select(SandboxPayment))).all()
        assert [payment.status for payment in payments] == ["voided"]
        assert [str(breach) for breach in await check_ledger(session)] == []


async def test_a_review_left_undecided_is_rejected_at_its_deadline(risky: Risky) -> None:
    order_id, buyer, support = await held_order(risky)
    clock.advance(19 * 3600)
    await settle(risky.runtime, rounds=2)
    assert (await get(risky, f"/v1/orders/{order_id}", buyer))["status"] == "review"

    clock.advance(3600)
    await settle(risky.runtime, rounds=2)

    _, support = await staff(risky)  # a fresh login: a day has passed
    seen = await get(risky, f"/v1/admin/orders/{order_id}", support)
    assert (seen["order"]["status"], seen["order"]["failure_code"]) == (
        "rejected",
        "review_expired",
    )
    assert seen["order"]["payment"]["status"] == "voided"
    newest = seen["decisions"][0]
    assert (newest["kind"], newest["outcome"], newest["actor"]) == ("review", "expired", "system")


async def test_a_blocked_customer_cannot_buy_until_unblocked(risky: Risky) -> None:
    customer_id, buyer = await risky.buyer()
    _, support = await staff(risky)

    blocked = await risky.http.post(
        f"/v1/admin/customers/{customer_id}/block", json={"reason": "chargebacks"}, headers=support
    )
    refused = await risky.order(buyer)

    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["customer"]["status"] == "blocked"
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_blocked"
    unblocked = await risky.http.delete(f"/v1/admin/customers/{customer_id}/block", headers=support)
    assert unblocked.status_code == 200
    assert (await risky.order(buyer)).status_code == 201
    log = await get(risky, f"/v1/admin/audit?customer_id={customer_id}", support)
    assert [row["outcome"] for row in log["data"] if row["kind"] != "order"] == [
        "account_unblocked",
        "account_blocked",
    ]


async def test_a_blocked_card_cannot_pay_on_any_account(risky: Risky) -> None:
    _, first = await risky.buyer()
    _, second = await risky.buyer()
    _, support = await staff(risky)
    saved = await risky.http.post(
        "/v1/cards",
        json={"number": FR_CARD, "exp_month": 12, "exp_year": clock.now().year + 1, "cvc": "123"},
        headers=first,
    )
    assert saved.status_code == 201, saved.text

    blocked = await risky.http.post(
        "/v1/admin/cards/blocks",
        json={"card_id": saved.json()["id"], "reason": "reported stolen"},
        headers=support,
    )

    assert blocked.status_code == 201, blocked.text
    refused = await risky.order(second, number=FR_CARD)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "card_blocked"
    fingerprint = blocked.json()["fingerprint"]
    lifted = await risky.http.delete(f"/v1/admin/cards/blocks/{fingerprint}", headers=support)
    assert lifted.status_code == 204
    assert (await risky.order(second, number=FR_CARD)).status_code == 201
    missing = await risky.http.delete(f"/v1/admin/cards/blocks/{fingerprint}", headers=support)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "x"},
        {"reason": "x", "card_id": "card_1", "fingerprint": "abc"},
        {"fingerprint": "abc", "reason": "   "},
    ],
)
async def test_a_card_block_names_one_card_and_a_reason(risky: Risky, body: object) -> None:
    _, support = await staff(risky)

    response = await risky.http.post("/v1/admin/cards/blocks", json=body, headers=support)

    assert response.status_code == 422, response.text


async def test_the_audit_log_pages_by_cursor(risky: Risky) -> None:
    customer_id, buyer = await risky.buyer()
    _, support = await staff(risky)
    for ending in ("1111", "2222", "3333"):
        assert (await risky.order(buyer, f"+234803123{ending}")).status_code == 201

    first = await get(risky, f"/v1/admin/audit?customer_id={customer_id}&limit=2", support)
    rest = await get(
        risky,
        f"/v1/admin/audit?customer_id={customer_id}&limit=2&cursor={first['next_cursor']}",
        support,
    )

    assert len(first["data"]) == 2
    assert len(rest["data"]) == 1
    assert rest["next_cursor"] is None
    assert all(row["kind"] == "order" for row in first["data"] + rest["data"])
    bad = await risky.http.get("/v1/admin/audit?cursor=nonsense", headers=support)
    assert bad.status_code == 422


async def test_a_signal_takes_new_parameters_that_its_check_can_read(risky: Risky) -> None:
    _, admin = await staff(risky, "admin")
    body = {"weight": 45, "params": {"cards": 1, "window_seconds": 86400}}

    response = await risky.http.put(CARDS_SIGNAL, json=body, headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["params"] == {
        "block_card": False,
        "block_account": False,
        "window_seconds": 86400,
        "cards": 1,
    }
    _, buyer = await risky.buyer()
    assert (await risky.order(buyer)).status_code == 201
    second_card = await risky.order(buyer, "+2348031239999", number=FR_CARD)
    assert second_card.status_code == 201, second_card.text
    decisions = await get(risky, "/v1/admin/audit?limit=1", admin)
    newest = decisions["data"][0]
    fired = [signal["id"] for signal in newest["inputs"]["signals"]]
    assert fired == ["card_country_mismatch", "many_cards_on_account"]
    assert (newest["score"], newest["outcome"]) == (65, "review")  # 20 + 45, past 50
