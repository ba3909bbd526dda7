"""A plan's charges and the refund policy: a renewal is never refundable; the first
purchase follows the ``plan`` policy, the unused share of its period being what remains.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

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


async def test_the_first_purchase_refunds_the_unused_share_once_cancelled(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2028, 8, 28, 12))  # a Monday; the first period ends on 1 September
    person = await subscriber()
    created = (await person.subscribe(recipient())).json()
    first_order = created["charges"][0]["order_id"]
    paid = created["price"]["amount"]

    running = await preview(person, first_order)
    assert (running["refundable"], running["rule"]) == (False, "plan_still_active")
    assert (await person.cancel(created["id"])).status_code == 200
    unconfirmed = await preview(person, first_order)
    await work(runtime)  # the worker has the supplier end the bundle
    at_once = await preview(person, first_order)
    move_to(at(2028, 8, 31, 12))  # later, but within the window: counted from the stop
    later = await preview(person, first_order)

    assert (unconfirmed["refundable"], unconfirmed["rule"]) == (False, "service_end_unconfirmed")
    assert at_once["refundable"] is True
    assert paid - 1 <= at_once["amount"]["amount"] <= paid  # all but a few seconds unused
    assert at_once["fee"]["amount"] == fee_of(at_once["amount"]["amount"], fee_percent())
    assert later["amount"] == at_once["amount"]


async def test_a_plan_cancelled_past_the_middle_of_its_period_is_not_refunded(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2028, 10, 27, 12))  # a Friday; the first period ends on 1 November
    person = await subscriber()
    created = (await person.subscribe(recipient())).json()
    move_to(at(2028, 10, 30, 9))  # past the middle of the 4.5-day period
    assert (await person.cancel(created["id"])).status_code == 200
    await work(runtime)

    answer = await preview(person, created["charges"][0]["order_id"])

    assert (answer["refundable"], answer["rule"]) == (False, "below_minimum_remaining")
    [email] = await emails(runtime, person.id, "subscription_cancelled")
    assert email.body is not None
    assert "No further charges will be made" in email.body


def fee_percent() -> Decimal:
    return presets()["plan"].fee_percent
