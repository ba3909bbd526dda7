"""``/v1/refund-requests`` for customers: the preview, the request, and every refusal as a
422 that names its rule. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.orders.conftest import order_body, place, settle
from tests.refunds.conftest import (
    FAILS,
    MakePerson,
    ask,
    asked,
    business_days_after,
    delivered_order,
    parse_time,
    preview,
    refund_body,
    refused_by,
    set_order,
    settled_order,
    sign_in,
    stored_order,
    stored_requests,
)
from topup.kit import clock
from topup.runtime import Runtime

REFUSED = 422
PENDING_FOR_EVER = "+2348031230004"


def price(order: dict[str, Any]) -> int:
    amount: int = order["price"]["amount"]
    return amount


async def test_a_preview_shows_the_refund_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)

    answer = await preview(client, customer.headers, refund_body(order["id"]))

    paid = price(order)
    assert answer["refundable"] is True
    assert answer["rule"] is None
    assert answer["amount"] == {"amount": paid, "currency": "EUR"}
    assert answer["fee"] == {"amount": 0, "currency": "EUR"}
    assert answer["net"] == {"amount": paid, "currency": "EUR"}
    assert answer["destination"] == "wallet"
    asked_at = clock.now()
    answer_by = parse_time(answer["answer_by"])
    assert business_days_after(runtime.business_calendar(), asked_at.date(), answer_by.date()) == 2
    assert runtime.business_calendar().is_business_day(answer_by.date())
    assert await stored_requests(runtime, order["id"]) == []
    assert (await stored_order(runtime, order["id"])).refunded_amount == 0


async def test_a_preview_of_a_refund_the_policy_refuses_names_the_rule(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)

    answer = await preview(
        client, customer.headers, refund_body(order["id"], reason="changed_mind")
    )

    assert answer["refundable"] is False
    assert answer["rule"] == "reason_not_eligible"
    assert "final" in answer["message"]
    assert (answer["amount"], answer["fee"], answer["net"], answer["answer_by"]) == (
        None,
        None,
        None,
        None,
    )


async def test_a_request_is_stored_with_the_figures_the_preview_showed(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    body = refund_body(order["id"], destination="original_method", details="nothing arrived")
    shown = await preview(client, customer.headers, body)

    created = await asked(client, customer.headers, body)

    assert created["id"].startswith("rfd_")
    assert (created["order_id"], created["status"], created["reason"]) == (
        order["id"],
        "requested",
        "not_delivered",
    )
    assert (created["amount"], created["fee"], created["net"]) == (
        shown["amount"],
        shown["fee"],
        shown["net"],
    )
    assert (created["destination"], created["approval"]) == ("original_method", "manual")
    assert parse_time(created["answer_by"]).date() == parse_time(shown["answer_by"]).date()
    assert (await stored_order(runtime, order["id"])).refunded_amount == price(order)
    listed = await client.get("/v1/refund-requests", headers=customer.headers)
    assert [row["id"] for row in listed.json()["data"]] == [created["id"]]
    one = await client.get(f"/v1/refund-requests/{created['id']}", headers=customer.headers)
    assert one.status_code == 200
    assert one.json() == created


async def test_the_same_key_answers_with_the_same_request(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    body = refund_body(order["id"], amount=100)

    first = await ask(client, customer.headers, body, key="refund-1")
    again = await ask(client, customer.headers, body, key="refund-1")
    other_body = await ask(client, customer.headers, refund_body(order["id"]), key="refund-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    assert [request.id for request in await stored_requests(runtime, order["id"])] == [
        first.json()["id"]
    ]
    assert (await stored_order(runtime, order["id"])).refunded_amount == 100


async def test_a_refused_request_leaves_its_key_free_for_a_corrected_one(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)

    wrong = await ask(
        client, customer.headers, refund_body(order["id"], reason="changed_mind"), key="k"
    )
    right = await ask(client, customer.headers, refund_body(order["id"]), key="k")

    assert (wrong.status_code, right.status_code) == (REFUSED, 201)


async def test_part_of_the_price_and_then_the_rest_may_be_asked_for(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    paid = price(order)

    part = await asked(client, customer.headers, refund_body(order["id"], amount=100))
    shown = await preview(client, customer.headers, refund_body(order["id"]))
    rest = await asked(client, customer.headers, refund_body(order["id"]))

    assert part["amount"]["amount"] == 100
    assert shown["amount"]["amount"] == rest["amount"]["amount"] == paid - 100
    assert (await stored_order(runtime, order["id"])).refunded_amount == paid


@pytest.mark.parametrize(
    ("change", "rule", "field"),
    [
        ({"reason": "changed_mind"}, "reason_not_eligible", "reason"),
        ({"reason": "no_such_reason"}, "reason_not_eligible", "reason"),
        ({"amount": 10**9}, "amount_above_refundable", "amount.amount"),
    ],
    ids=["final_product", "unknown_reason", "above_the_price"],
)
async def test_a_refund_the_policy_refuses_is_a_422_naming_the_rule(
    client: httpx.AsyncClient,
    runtime: Runtime,
    person: MakePerson,
    change: dict[str, Any],
    rule: str,
    field: str,
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)

    response = await ask(client, customer.headers, refund_body(order["id"], **change))

    assert refused_by(response) == (REFUSED, "refund_not_allowed", rule, field)
    assert await stored_requests(runtime, order["id"]) == []
    assert (await stored_order(runtime, order["id"])).refunded_amount == 0


async def test_one_cent_above_what_is_refundable_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    paid = price(order)

    above = await ask(client, customer.headers, refund_body(order["id"], amount=paid + 1))
    exact = await ask(client, customer.headers, refund_body(order["id"], amount=paid))

    assert refused_by(above)[2] == "amount_above_refundable"
    assert exact.status_code == 201


async def test_the_same_money_is_not_refunded_twice(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    await asked(client, customer.headers, refund_body(order["id"]))

    again = await ask(client, customer.headers, refund_body(order["id"], destination="wallet"))
    a_cent_more = await ask(client, customer.headers, refund_body(order["id"], amount=1))

    assert refused_by(again) == (REFUSED, "refund_not_allowed", "already_refunded", "order_id")
    assert refused_by(a_cent_more)[2] == "already_refunded"
    assert len(await stored_requests(runtime, order["id"])) == 1


async def test_a_failed_order_whose_payment_was_released_has_nothing_to_refund(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await settled_order(client, runtime, customer.headers, FAILS)
    assert (order["status"], order["payment"]["status"]) == ("failed", "voided")

    response = await ask(client, customer.headers, refund_body(order["id"]))

    assert refused_by(response) == (REFUSED, "refund_not_allowed", "nothing_captured", "order_id")


async def test_an_order_still_in_progress_cannot_be_refunded_yet(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    placed = await place(client, customer.headers, order_body(PENDING_FOR_EVER))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert (await stored_order(runtime, order_id)).status == "pending"

    response = await ask(client, customer.headers, refund_body(order_id))

    assert refused_by(response) == (
        REFUSED,
        "refund_not_allowed",
        "order_in_progress",
        "order_id",
    )
    # Leave no hold behind: the order gives up at its deadline and its payment is released.
    clock.advance(24 * 3600)
    await settle(runtime, rounds=3)
    assert (await stored_order(runtime, order_id)).payment_status == "voided"


async def test_a_refund_asked_a_month_and_a_day_after_the_purchase_is_outside_the_window(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    clock.advance(27 * 86400)  # 27 days later: within a month, whatever the month
    headers = await sign_in(runtime, customer.id)
    shown = await preview(client, headers, refund_body(order["id"]))
    assert shown["refundable"] is True

    clock.advance(5 * 86400)  # 32 days after the purchase: past any month
    late = await ask(client, await sign_in(runtime, customer.id), refund_body(order["id"]))

    assert refused_by(late) == (REFUSED, "refund_not_allowed", "outside_window", "order_id")


async def test_another_customers_order_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    owner, stranger = await person(), await person()
    order = await delivered_order(client, runtime, owner.headers)
    created = await asked(client, owner.headers, refund_body(order["id"], amount=100))

    shown = await client.post(
        "/v1/refund-requests/preview", json=refund_body(order["id"]), headers=stranger.headers
    )
    response = await ask(client, stranger.headers, refund_body(order["id"]))
    theirs = await client.get(f"/v1/refund-requests/{created['id']}", headers=stranger.headers)
    listed = await client.get("/v1/refund-requests", headers=stranger.headers)

    assert (shown.status_code, response.status_code) == (404, 404)
    assert response.json()["error"]["code"] == "order_not_found"
    assert theirs.status_code == 404
    assert listed.json()["data"] == []
    assert (await stored_order(runtime, order["id"])).refunded_amount == 100


async def test_a_product_type_without_a_policy_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    await set_order(runtime, order["id"], product_type="gift_voucher")

    response = await ask(client, customer.headers, refund_body(order["id"]))

    assert refused_by(response)[2] == "no_policy"


async def test_a_calling_card_whose_balance_is_unknown_is_not_refunded(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    await set_order(runtime, order["id"], product_type="calling_card")

    # The calling card preset: a change of mind is a reason, but the balance must be known.
    response = await ask(client, customer.headers, refund_body(order["id"], reason="changed_mind"))
    final = await ask(client, customer.headers, refund_body(order["id"], reason="not_delivered"))

    assert refused_by(response)[2:] == ("remaining_balance_unknown", "order_id")
    assert refused_by(final)[2:] == ("reason_not_eligible", "reason")


@pytest.mark.parametrize(
    "change",
    [
        {"amount": {"amount": 100, "currency": "USD"}},
        {"amount": {"amount": 0, "currency": "EUR"}},
        {"destination": "bank_transfer"},
        {"order_id": "not-an-order"},
        {"reason": "Changed Mind"},
        {"surprise": True},
    ],
    ids=["usd", "zero", "destination", "order_id", "reason", "extra_field"],
)
async def test_a_malformed_request_is_refused_before_the_policy_is_asked(
    client: httpx.AsyncClient, person: MakePerson, change: dict[str, Any]
) -> None:
    customer = await person()
    body = refund_body("ord_" + "0" * 32) | change

    response = await ask(client, customer.headers, body)

    assert response.status_code == REFUSED
    assert response.json()["error"]["code"] != "refund_not_allowed"


async def test_refund_requests_need_a_signed_in_customer_and_a_key(
    client: httpx.AsyncClient, person: MakePerson
) -> None:
    body = refund_body("ord_" + "0" * 32)
    anonymous = await client.post("/v1/refund-requests", json=body)
    keyless = await client.post("/v1/refund-requests", json=body, headers=(await person()).headers)

    assert anonymous.status_code == 401
    assert keyless.status_code == REFUSED
    assert keyless.json()["error"]["code"] == "idempotency_key_missing"


async def test_a_customers_requests_come_newest_first_in_pages(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    made: list[str] = []
    for amount in (10, 20, 30):
        created = await asked(client, customer.headers, refund_body(order["id"], amount=amount))
        made.append(created["id"])
        clock.advance(1)  # distinct creation times

    first = (await client.get("/v1/refund-requests?limit=2", headers=customer.headers)).json()
    rest = (
        await client.get(
            "/v1/refund-requests",
            params={"limit": "2", "cursor": first["next_cursor"]},
            headers=customer.headers,
        )
    ).json()

    assert [row["id"] for row in first["data"] + rest["data"]] == made[::-1]
    assert rest["next_cursor"] is None


def test_answer_dates_count_the_business_days_of_the_configured_country(
    runtime: Runtime,
) -> None:
    epiphany = parse_time("2026-01-06T10:00:00+00:00")
    assert runtime.business_calendar().is_business_day(epiphany.date())  # France by default
    runtime.settings = runtime.settings.model_copy(
        update={"business_country": "DE", "business_subdivision": "BY"}
    )
    assert not runtime.business_calendar().is_business_day(epiphany.date())
    assert not runtime.refund_deps().calendar.is_business_day(epiphany.date())


async def test_a_key_used_more_than_72_hours_ago_does_not_answer_a_new_request(
    client: httpx.AsyncClient, runtime: Runtime, person: MakePerson
) -> None:
    """The key is forgotten after 72 hours; the request it once named must not be given
    as the answer to another body sent under it."""
    customer = await person()
    order = await delivered_order(client, runtime, customer.headers)
    headers = customer.headers | {"Idempotency-Key": "refund-key"}
    first = await client.post(
        "/v1/refund-requests", json=refund_body(order["id"], amount=50), headers=headers
    )
    assert first.status_code == 201, first.text
    clock.advance(73 * 3600)
    headers = await sign_in(runtime, customer.id) | {"Idempotency-Key": "refund-key"}

    reused = await client.post(
        "/v1/refund-requests", json=refund_body(order["id"], amount=60), headers=headers
    )

    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert (await stored_order(runtime, order["id"])).refunded_amount == 50
