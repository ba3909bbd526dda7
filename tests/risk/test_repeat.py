"""Repeating an order within the duplicate window asks for the same confirmation."""

from __future__ import annotations

from tests.fixtures.risky import Risky
from topup.kit import clock
from topup.kit.ids import new_id


async def test_a_repeat_moments_later_needs_confirm_duplicate(risky: Risky) -> None:
    _, headers = await risky.buyer()
    saved = await risky.http.post(
        "/v1/cards",
        json={
            "number": "4242424242424242",
            "exp_month": 12,
            "exp_year": clock.now().year + 1,
            "cvc": "123",
        },
        headers=headers,
    )
    assert saved.status_code == 201, saved.text
    first = await risky.http.post(
        "/v1/orders",
        json={
            "recipient_phone": "+2348031234567",
            "product_id": "ng-mtn-2500",
            "payment": {"card_id": saved.json()["id"]},
        },
        headers=headers | {"Idempotency-Key": new_id("key")},
    )
    assert first.status_code == 201, first.text
    repeat = f"/v1/orders/{first.json()['id']}/repeat"

    warned = await risky.http.post(repeat, headers=headers | {"Idempotency-Key": "again-1"})
    confirmed = await risky.http.post(
        repeat,
        json={"confirm_duplicate": True},
        headers=headers | {"Idempotency-Key": "again-2"},
    )

    assert warned.status_code == 409
    assert warned.json()["error"]["code"] == "duplicate_recipient"
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["recipient_phone"] == "+2348031234567"
