"""A plan's charges and the refund policy: a renewal is never refundable; the first
purchase follows the ``plan`` policy, the unused share of its period being what remains.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

from tests.subscriptions.conftest import (
    Subscriber,
    at,
    charges,
    emails,
    move_to,
    recipient,
    work,
)
from topup.kit.ids import new_id
from topup.refunds.policy import presets
from topup.refunds.quote import fee_of
from topup.runtime import Runtime

MakeSubscriber = Callable[..., Awaitable[Subscriber]]


async def preview(person: Subscriber, order_id: str) -> dict[str, Any]:
    body = {"order_id": order_id, "reason": "changed_mind", "destination": "wallet"}
    response = await person.http.post(
        "/v1/refund-requests/preview", json=body, headers=await person.headers()
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_renewal_is_not_refundable(subscriber: MakeSubscriber, runtime: Runtime) -> None:
    move_to(at(2028, 6, 20))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    move_to(at(2028, 7, 1))
    await work(runtime)
    renewal = (await charges(runtime, subscription_id))[-1]
    assert (renewal.renewal, renewal.status) == (True, "succeeded")
    assert renewal.order_id is not None

    answer = await preview(person, renewal.order_id)
    asked = await person.http.post(
        "/v1/refund-requests",
        json={"order_id": renewal.order_id, "reason": "changed_mind", "destination": "wallet"},
        headers=await person.headers() | {"Idempotency-Key": new_id("key")},
    )

    assert (answer["refundable"], answer["rule"]) == (False, "renewal_not_refundable")
    assert asked.status_code == 422
    assert "renewal_not_refundable" in asked.json()["error"]["message"]


async def test_the_first_purchase_refunds_the_unused_share_of_its_period(
    subscriber: MakeSubscriber, client: httpx.AsyncClient
) -> None:
    move_to(at(2028, 8, 28, 12))  # a Monday; the first period ends on 1 September
    person = await subscriber()
    created = (await person.subscribe(recipient())).json()
    first_order = created["charges"][0]["order_id"]
    paid = created["price"]["amount"]

    fresh = await preview(person, first_order)
    assert fresh["refundable"] is True
    assert paid - 1 <= fresh["amount"]["amount"] <= paid  # all but a few seconds remain
    assert fresh["fee"]["amount"] == fee_of(fresh["amount"]["amount"], fee_percent())

    move_to(at(2028, 8, 30, 12, 30))  # past the middle of the 3.5-day period
    late = await preview(person, first_order)
    assert (late["refundable"], late["rule"]) == (False, "below_minimum_remaining")


async def test_after_a_cancellation_nothing_of_the_first_purchase_remains(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2028, 10, 2, 9))
    person = await subscriber()
    created = (await person.subscribe(recipient())).json()
    assert (await person.cancel(created["id"])).status_code == 200

    answer = await preview(person, created["charges"][0]["order_id"])

    assert (answer["refundable"], answer["rule"]) == (False, "below_minimum_remaining")
    [email] = await emails(runtime, person.id, "subscription_cancelled")
    assert email.body is not None
    assert "No further charges will be made" in email.body


def fee_percent() -> Decimal:
    return presets()["plan"].fee_percent
