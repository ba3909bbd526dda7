"""``/v1/schedules``: what creation checks (each bad field: 422 with its code and field),
reading, changing, pausing, resuming and cancelling; another customer's schedule is 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.accounts.helpers import PASSWORD
from tests.fixtures.customers import logged_in_customer
from tests.schedules.conftest import (
    DECLINED,
    SUCCEEDS,
    Holder,
    create,
    holder,
    parse,
    read,
    schedule_body,
    signed_in_again,
    stored,
)
from topup.accounts.models import Customer
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.runtime import Runtime


async def refused(
    client: httpx.AsyncClient, who: Holder, **changes: Any
) -> tuple[int, str, str | None]:
    body = {key: value for key, value in schedule_body(who, **changes).items() if value is not None}
    response = await client.post("/v1/schedules", json=body, headers=who.headers)
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"recipient_phone": "12"}, ("invalid_phone", "recipient_phone")),
        ({"recipient_phone": "+2348031230009"}, ("not_prepaid", "recipient_phone")),
        ({"product_id": "zz-nothing-1"}, ("product_not_found", "product_id")),
        ({"product_id": "ng-airtel-2500"}, ("product_not_for_operator", "product_id")),
        ({"product_id": "ng-mtn-voucher-20000"}, ("product_not_schedulable", "product_id")),
        ({"product_id": "ng-mtn-plan-25000"}, ("product_not_schedulable", "product_id")),
        ({"product_id": "ng-mtn-calling-card-10000"}, ("product_not_schedulable", "product_id")),
        ({"product_id": "ng-mtn-range"}, ("missing_field", "amount")),
        (
            {"product_id": "ng-mtn-range", "amount": {"amount": 100, "currency": "NGN"}},
            ("invalid_amount", "amount.amount"),
        ),
        ({"amount": {"amount": 999, "currency": "NGN"}}, ("invalid_amount", "amount")),
        ({"card_id": "card_" + "0" * 32}, ("card_not_found", "card_id")),
        ({"every": "3d"}, ("invalid_field", "every")),
        ({"every": None}, ("missing_field", "every")),
        ({"every": "monthly"}, ("missing_field", "day_of_month")),
        ({"every": "monthly", "day_of_month": 32}, ("invalid_field", "day_of_month")),
        ({"every": "monthly", "day_of_month": 0}, ("invalid_field", "day_of_month")),
        ({"day_of_month": 5}, ("invalid_field", "day_of_month")),
        ({"first_run_at": "2027-01-01T10:00:00"}, ("invalid_field", "first_run_at")),
        ({"first_run_at": "2020-01-01T10:00:00Z"}, ("invalid_date", "first_run_at")),
        ({"unknown": 1}, ("invalid_field", "unknown")),
    ],
)
async def test_each_bad_field_is_refused_with_its_code_and_field(
    runtime: Runtime, client: httpx.AsyncClient, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    who = await holder(runtime, client)

    assert await refused(client, who, **changes) == (422, *expected)
    listed = await client.get("/v1/schedules", headers=who.headers)
    assert listed.json()["data"] == []  # nothing was stored


async def test_a_first_run_more_than_a_year_ahead_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    far = (clock.now() + timedelta(days=366)).isoformat()

    assert await refused(client, who, first_run_at=far) == (422, "invalid_date", "first_run_at")


async def test_another_customers_card_is_not_found(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who, other = await holder(runtime, client), await holder(runtime, client)

    assert await refused(client, who, card_id=other.card_id) == (422, "card_not_found", "card_id")


async def test_an_unverified_phone_may_not_schedule(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(
            update(Customer).where(Customer.id == who.id).values(phone_verified_at=None)
        )

    assert await refused(client, who) == (403, "phone_not_verified", None)


async def test_a_new_schedule_says_what_it_will_send_when_and_how_it_is_paid(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    before = clock.now()

    made = await create(
        client, who, product_id="ng-mtn-range", amount={"amount": 300000, "currency": "NGN"}
    )

    assert made["status"] == "active"
    assert made["every"] == "7d"
    assert before <= parse(made["next_run_at"]) <= clock.now()  # the first top-up goes now
    assert made["recipient_phone"] == SUCCEEDS
    assert made["operator"]["id"] == "ng-mtn"
    assert made["local_value"] == {"amount": 300000, "currency": "NGN"}
    assert made["price"]["currency"] == "EUR"
    assert made["price"]["amount"] > 0
    assert made["card"] == {"id": who.card_id, "brand": "visa", "last4": "4242"}
    assert (made["pause_reason"], made["failed_attempts"], made["last_run"]) == (None, 0, None)
    assert await read(client, who, made["id"]) == made
    listed = (await client.get("/v1/schedules", headers=who.headers)).json()
    assert [schedule["id"] for schedule in listed["data"]] == [made["id"]]


async def test_a_monthly_schedule_starts_on_its_day(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    start = (clock.now() + timedelta(days=3)).replace(microsecond=0)

    made = await create(
        client, who, every="monthly", day_of_month=31, first_run_at=start.isoformat()
    )

    first = parse(made["next_run_at"])
    assert first >= start
    assert first.time() == start.time()
    assert first.day == 31 or (first + timedelta(days=1)).day == 1  # the 31st or the month's end
    assert first - start < timedelta(days=31)


async def test_another_customers_schedule_is_not_found(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who, other = await holder(runtime, client), await holder(runtime, client)
    made = await create(client, who)
    path = f"/v1/schedules/{made['id']}"

    for method, target, body in [
        ("GET", path, None),
        ("PATCH", path, {"card_id": other.card_id}),
        ("POST", f"{path}/pause", None),
        ("POST", f"{path}/resume", None),
        ("DELETE", path, None),
    ]:
        response = await client.request(method, target, json=body, headers=other.headers)
        assert response.status_code == 404, (method, target, response.text)
        assert response.json()["error"]["code"] == "schedule_not_found"
    assert (await client.get("/v1/schedules", headers=other.headers)).json()["data"] == []
    assert (await read(client, who, made["id"]))["status"] == "active"


async def test_pause_then_resume_goes_on_from_the_next_due_date_after_now(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    start = clock.now() + timedelta(days=1)
    made = await create(client, who, first_run_at=start.isoformat())

    paused = (await client.post(f"/v1/schedules/{made['id']}/pause", headers=who.headers)).json()
    assert (paused["status"], paused["pause_reason"], paused["next_run_at"]) == (
        "paused",
        "customer",
        None,
    )
    clock.advance(timedelta(days=9).total_seconds())  # the first due date passed while paused
    who = await signed_in_again(runtime, who)

    resumed = await client.post(f"/v1/schedules/{made['id']}/resume", headers=who.headers)

    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "active"
    assert resumed.json()["pause_reason"] is None
    # On the schedule's own calendar (every 7 days from the first date), after now.
    assert parse(resumed.json()["next_run_at"]) == parse(made["next_run_at"]) + timedelta(days=14)


async def test_the_card_and_the_product_can_be_changed(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    other = await holder(runtime, client)
    made = await create(client, who)
    second = await client.post(
        "/v1/cards",
        json={"number": DECLINED, "exp_month": 12, "exp_year": clock.now().year + 2, "cvc": "123"},
        headers=who.headers,
    )
    path = f"/v1/schedules/{made['id']}"

    changed = await client.patch(path, json={"card_id": second.json()["id"]}, headers=who.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["card"]["last4"] == "0002"

    changed = await client.patch(
        path,
        json={"product_id": "ng-mtn-range", "amount": {"amount": 500000, "currency": "NGN"}},
        headers=who.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["product_id"] == "ng-mtn-range"
    assert changed.json()["local_value"]["amount"] == 500000

    for body, expected in [
        ({"card_id": other.card_id}, ("card_not_found", "card_id")),
        ({"product_id": "ng-glo-2500"}, ("product_not_for_operator", "product_id")),
        ({"product_id": "ng-mtn-voucher-20000"}, ("product_not_schedulable", "product_id")),
        ({}, ("missing_field", None)),
    ]:
        response = await client.patch(path, json=body, headers=who.headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error.get("field")) == expected


async def test_a_cancelled_schedule_stays_cancelled(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    path = f"/v1/schedules/{made['id']}"

    assert (await client.delete(path, headers=who.headers)).status_code == 204
    assert (await client.delete(path, headers=who.headers)).status_code == 204  # no harm

    shown = await read(client, who, made["id"])
    assert (shown["status"], shown["next_run_at"]) == ("cancelled", None)
    assert shown["cancelled_at"] is not None
    for target in (f"{path}/pause", f"{path}/resume"):
        response = await client.post(target, headers=who.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (
            409,
            "schedule_cancelled",
        )
    response = await client.patch(path, json={"card_id": who.card_id}, headers=who.headers)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "schedule_cancelled")


async def test_an_idempotency_key_makes_a_retried_creation_one_schedule(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    headers = who.headers | {"Idempotency-Key": "schedule-once"}

    first = await client.post("/v1/schedules", json=schedule_body(who), headers=headers)
    again = await client.post("/v1/schedules", json=schedule_body(who), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert len((await client.get("/v1/schedules", headers=who.headers)).json()["data"]) == 1


async def test_deleting_the_account_cancels_its_schedules_and_forgets_the_number(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    async with unit_of_work(runtime.session_factory) as session:
        password_hash = await runtime.accounts.passwords.hash(PASSWORD)
        await session.execute(
            update(Customer).where(Customer.id == who.id).values(password_hash=password_hash)
        )

    deleted = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=who.headers
    )

    assert deleted.status_code == 204, deleted.text
    schedule = await stored(runtime, made["id"])
    assert (schedule.status, schedule.recipient_phone, schedule.due_at) == ("cancelled", None, None)


async def test_a_signed_out_caller_is_refused(runtime: Runtime, client: httpx.AsyncClient) -> None:
    someone = await logged_in_customer(runtime)
    assert (await client.get("/v1/schedules")).status_code == 401
    assert (await client.get("/v1/schedules", headers=someone.headers)).json()["data"] == []
