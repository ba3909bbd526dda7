"""``/v1/plans`` and ``/v1/subscriptions`` over HTTP: the plans on sale, what a request
must hold, who sees what, and the one-off order a plan refuses. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.fixtures.customers import logged_in_customer
from tests.subscriptions.conftest import CARD, PLAN, Subscriber, orders_for, recipient
from topup.kit.ids import new_id
from topup.runtime import Runtime

MakeSubscriber = Callable[..., Awaitable[Subscriber]]
AIRTEL = "+2348021234567"  # Airtel Nigeria: the MTN plan is not sold for it


async def test_the_plans_are_the_catalogues_plan_products(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/v1/plans")).json()["data"]
    nigeria = (await client.get("/v1/plans", params={"country": "ng"})).json()["data"]
    mtn = (await client.get("/v1/plans", params={"operator_id": "ng-mtn"})).json()["data"]

    assert len(everything) > len(nigeria) >= 1
    assert {plan["id"].split("-plan-")[0] for plan in everything} >= {"ng-mtn"}
    assert all("-plan-" in plan["id"] for plan in everything)
    assert [plan["id"] for plan in nigeria] == [plan["id"] for plan in mtn] == [PLAN]
    [plan] = mtn
    assert plan["billing"] == "monthly_on_the_1st"
    assert plan["operator"] == {"id": "ng-mtn", "name": "MTN Nigeria"}
    assert plan["country"] == "NG"
    assert plan["local_value"] == {"amount": 2500000, "currency": "NGN"}
    assert plan["price"]["currency"] == "EUR"
    bad = await client.get("/v1/plans", params={"country": "NGA"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "country"


async def test_a_plan_cannot_be_bought_as_a_one_off_order(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    buyer = await logged_in_customer(runtime)
    body = {"recipient_phone": recipient(), "product_id": PLAN, "payment": {"card": CARD}}

    response = await client.post(
        "/v1/orders", json=body, headers=buyer.headers | {"Idempotency-Key": new_id("key")}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("product_requires_subscription", "product_id")
    assert await orders_for(runtime, buyer.id) == []


async def test_a_plans_charge_cannot_be_repeated_as_a_one_off_order(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    person = await subscriber()
    created = (await person.subscribe(recipient())).json()
    [charge] = await orders_for(runtime, person.id)

    response = await person.http.post(
        f"/v1/orders/{charge.id}/repeat",
        headers=await person.headers() | {"Idempotency-Key": new_id("key")},
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("product_requires_subscription", "product_id")
    assert [order.id for order in await orders_for(runtime, person.id)] == [charge.id]
    assert created["charges"][0]["order_id"] == charge.id


async def test_the_storefront_does_not_offer_a_plan(client: httpx.AsyncClient) -> None:
    page = await client.get("/topup", params={"phone": "+2348031234567"})

    assert page.status_code == 200
    assert "ng-mtn-2500" in page.text
    assert PLAN not in page.text


async def test_a_retried_request_answers_with_the_same_subscription(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    person = await subscriber()
    body = {"plan_id": PLAN, "recipient_phone": recipient(), "card_id": person.card_id}
    headers = await person.headers() | {"Idempotency-Key": new_id("key")}

    first = await person.http.post("/v1/subscriptions", json=body, headers=headers)
    again = await person.http.post("/v1/subscriptions", json=body, headers=headers)
    await runtime.detached.settle()

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(await orders_for(runtime, person.id)) == 1


async def test_a_new_card_is_saved_for_the_renewals(subscriber: MakeSubscriber) -> None:
    person = await subscriber()

    response = await person.subscribe(
        recipient(), card_id=None, card=CARD | {"number": "5555555555554444"}
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["card_last4"] == "4444"
    cards = (await person.http.get("/v1/cards", headers=await person.headers())).json()
    assert created["card_id"] in {card["id"] for card in cards["data"]}


async def test_bad_requests_name_their_code_and_field(subscriber: MakeSubscriber) -> None:
    person = await subscriber()
    phone = recipient()
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({"plan_id": "ng-mtn-plan-1"}, 422, "plan_not_found", "plan_id"),
        ({"plan_id": "ng-mtn-2500"}, 422, "plan_not_found", "plan_id"),
        ({"recipient_phone": AIRTEL}, 422, "product_not_for_operator", "plan_id"),
        ({"recipient_phone": "12"}, 422, "invalid_phone", "recipient_phone"),
        ({"card_id": "card_" + "0" * 32}, 422, "card_not_found", "card_id"),
        ({"card": CARD}, 422, "invalid_field", None),  # a card and a card_id
        ({"plan_id": 5}, 422, "invalid_field", "plan_id"),
    ]
    for changes, status, code, field in cases:
        response = await person.subscribe(phone, **changes)
        error = response.json()["error"]
        assert (response.status_code, error["code"]) == (status, code), (changes, error)
        if field is not None:
            assert error.get("field") == field, (changes, error)
    no_key = await person.http.post(
        "/v1/subscriptions",
        json={"plan_id": PLAN, "recipient_phone": phone, "card_id": person.card_id},
        headers=await person.headers(),
    )
    assert no_key.json()["error"]["code"] == "idempotency_key_missing"

    assert (await person.subscribe(phone)).status_code == 201
    twice = await person.subscribe(phone)
    assert twice.status_code == 409
    assert (twice.json()["error"]["code"], twice.json()["error"]["field"]) == (
        "subscription_exists",
        "plan_id",
    )


async def test_an_unverified_phone_cannot_subscribe(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    person = await logged_in_customer(runtime, phone_verified=False)
    body = {"plan_id": PLAN, "recipient_phone": recipient(), "card": CARD}

    response = await client.post(
        "/v1/subscriptions", json=body, headers=person.headers | {"Idempotency-Key": "k-1"}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "phone_not_verified"


async def test_a_customer_sees_and_changes_only_their_own_subscriptions(
    subscriber: MakeSubscriber,
) -> None:
    owner = await subscriber()
    other = await subscriber()
    subscription_id = (await owner.subscribe(recipient())).json()["id"]
    path = f"/v1/subscriptions/{subscription_id}"
    other_headers = await other.headers()

    assert (await other.http.get(path, headers=other_headers)).status_code == 404
    patch = {"card_id": other.card_id}
    assert (await other.http.patch(path, json=patch, headers=other_headers)).status_code == 404
    refused = await other.http.delete(path, headers=other_headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "subscription_not_found"
    assert (await owner.get(subscription_id))["status"] == "active"
    listed = (await other.http.get("/v1/subscriptions", headers=other_headers)).json()
    assert listed["data"] == []
    mine = (await owner.http.get("/v1/subscriptions", headers=await owner.headers())).json()
    assert [row["id"] for row in mine["data"]] == [subscription_id]
    # The owner cannot point the plan at someone else's card either.
    theirs = await owner.http.patch(path, json=patch, headers=await owner.headers())
    assert theirs.status_code == 422
    assert (theirs.json()["error"]["code"], theirs.json()["error"]["field"]) == (
        "card_not_found",
        "card_id",
    )


async def test_an_ended_subscription_keeps_its_card(subscriber: MakeSubscriber) -> None:
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    assert (await person.cancel(subscription_id)).status_code == 200

    response = await person.http.patch(
        f"/v1/subscriptions/{subscription_id}",
        json={"card_id": person.card_id},
        headers=await person.headers(),
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "subscription_ended"
