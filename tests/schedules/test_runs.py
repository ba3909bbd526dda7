"""The worker's runs: one order per due date across month ends, even with two workers or a
crash between placing the order and recording it; retries, then a pause with an email; a
ported number pauses; a cancelled schedule runs no more; the ledger stays balanced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.accounts.helpers import new_email
from tests.fixtures.risky import Risky
from tests.schedules.conftest import (
    DECLINED,
    FAILS,
    PORTED,
    SUCCEEDS,
    VISA,
    assert_ledger_clean,
    create,
    emails_to,
    holder,
    move_to,
    orders_of_customer,
    orders_of_schedule,
    parse,
    read,
    rounds,
    runs_of,
    signed_in_again,
    stored,
)
from topup.accounts.policy import email_key
from topup.kit import clock, faults
from topup.orders import placement
from topup.orders.placement import Placed
from topup.providers.suppliers.prefix import PrefixLookup
from topup.runtime import Runtime
from topup.schedules import runs
from topup.schedules.runs import RETRY_DELAYS, run_key, run_schedule
from topup.schedules.tasks import LEASE, run_due
from topup.worker import run_round


async def test_a_monthly_schedule_on_the_31st_runs_once_on_each_due_date_across_month_ends(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    now = clock.now()
    january = now.year if (now.month, now.day) < (1, 31) else now.year + 1
    start = datetime(january, 1, 31, 10, tzinfo=UTC)  # then February, March and April
    made = await create(
        client, who, every="monthly", day_of_month=31, first_run_at=start.isoformat()
    )
    expected = []
    for _ in range(4):
        who = await signed_in_again(runtime, who)
        expected.append(parse((await read(client, who, made["id"]))["next_run_at"]))
        await move_to(expected[-1])
        for _ in range(3):  # the worker's whole round, more often than there are runs
            await run_round(runtime)
            clock.advance(LEASE.total_seconds() + 1)
    leap = january % 4 == 0 and (january % 100 != 0 or january % 400 == 0)
    assert expected == [
        start,
        datetime(january, 2, 29 if leap else 28, 10, tzinfo=UTC),
        datetime(january, 3, 31, 10, tzinfo=UTC),
        datetime(january, 4, 30, 10, tzinfo=UTC),
    ]

    orders = await orders_of_schedule(runtime, made["id"])
    assert [order.created_at.date() for order in orders] == [due.date() for due in expected]
    assert [order.status for order in orders] == ["succeeded"] * 4
    assert [run.idempotency_key for run in await runs_of(runtime, made["id"])] == [
        run_key(made["id"], due, 0) for due in expected
    ]
    who = await signed_in_again(runtime, who)
    listed = (await client.get("/v1/orders", headers=who.headers)).json()["data"]
    assert {order["id"] for order in listed} == {order.id for order in orders}
    shown = await read(client, who, made["id"])
    assert shown["last_run"]["order_id"] == orders[-1].id
    assert shown["last_run"]["status"] == "succeeded"
    assert parse(shown["next_run_at"]) > clock.now()
    await assert_ledger_clean(runtime)


async def test_every_seven_days_counts_from_the_due_date_not_from_the_late_worker(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    first = parse(made["next_run_at"])
    clock.advance(3600)  # the worker comes an hour late

    await rounds(runtime, 1)

    assert (await stored(runtime, made["id"])).next_run_at == first + timedelta(days=7)
    assert len(await orders_of_schedule(runtime, made["id"])) == 1


async def test_two_workers_on_one_due_schedule_place_one_order(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)

    await asyncio.gather(run_due(runtime), run_due(runtime))
    await rounds(runtime, 2)

    assert len(await orders_of_customer(runtime, who.id)) == 1
    assert len(await runs_of(runtime, made["id"])) == 1
    await assert_ledger_clean(runtime)


async def test_two_steps_on_one_schedule_at_once_still_place_one_order(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Past the lease too (a worker slower than its lease, beside the next one): the run's
    intent row and its idempotency key keep it to one order."""
    who = await holder(runtime, client)
    made = await create(client, who)

    await asyncio.gather(*(run_schedule(runtime, made["id"]) for _ in range(3)))
    await rounds(runtime, 2)

    orders = await orders_of_customer(runtime, who.id)
    assert len(orders) == 1
    assert [run.order_id for run in await runs_of(runtime, made["id"])] == [orders[0].id]
    assert (await read(client, who, made["id"]))["last_run"]["status"] == "succeeded"


async def test_a_crash_between_placing_the_order_and_recording_it_places_no_second_order(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    faults.arm("schedule.order_placed")

    await run_due(runtime)  # the step dies once its order is placed (the worker logs it)

    [placed] = await orders_of_customer(runtime, who.id)
    assert (await stored(runtime, made["id"])).current_order_id is None  # nothing recorded
    await rounds(runtime, 3)  # the lease lapses; the next worker takes the row again

    assert [order.id for order in await orders_of_customer(runtime, who.id)] == [placed.id]
    [run] = await runs_of(runtime, made["id"])
    assert (run.order_id, run.outcome) == (placed.id, "succeeded")
    schedule = await stored(runtime, made["id"])
    assert (schedule.last_order_id, schedule.failed_attempts) == (placed.id, 0)
    assert schedule.next_run_at == parse(made["next_run_at"]) + timedelta(days=7)
    await assert_ledger_clean(runtime)


@pytest.mark.parametrize("change", ["cancel", "pause"])
async def test_a_schedule_stopped_after_its_run_was_decided_places_no_order(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    path = f"/v1/schedules/{made['id']}"
    place_once = placement.place_once

    async def customer_stops_it_first(*args: Any, **kwargs: Any) -> Placed:
        """The customer's click lands after the intent row, just before the order."""
        if change == "cancel":
            stopped = await client.delete(path, headers=who.headers)
        else:
            stopped = await client.post(f"{path}/pause", headers=who.headers)
        assert stopped.status_code in {200, 204}, stopped.text
        return await place_once(*args, **kwargs)

    monkeypatch.setattr(runs, "place_once", customer_stops_it_first)
    await run_due(runtime)
    monkeypatch.undo()
    await rounds(runtime, 2)

    assert await orders_of_customer(runtime, who.id) == []
    [run] = await runs_of(runtime, made["id"])
    assert (run.order_id, run.outcome) == (None, "refused")
    expected = "cancelled" if change == "cancel" else "paused"
    assert (await stored(runtime, made["id"])).status == expected


async def test_a_failing_number_is_retried_then_the_schedule_pauses_with_an_email(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who, recipient_phone=FAILS)

    await rounds(runtime, 1)
    after_one = await read(client, who, made["id"])
    assert (after_one["status"], after_one["failed_attempts"]) == ("active", 1)
    assert after_one["last_run"]["failure_code"] == "operator_rejected"
    assert parse(after_one["retry_at"]) - clock.now() <= RETRY_DELAYS[0]
    for delay in RETRY_DELAYS:
        clock.advance(delay.total_seconds())
        await rounds(runtime, 1)

    who = await signed_in_again(runtime, who)
    shown = await read(client, who, made["id"])
    assert (shown["status"], shown["pause_reason"], shown["failed_attempts"]) == (
        "paused",
        "topup_failed",
        3,
    )
    orders = await orders_of_schedule(runtime, made["id"])
    assert [order.status for order in orders] == ["failed"] * 3
    assert [run.idempotency_key for run in await runs_of(runtime, made["id"])] == [
        run_key(made["id"], parse(made["next_run_at"]), attempt) for attempt in range(3)
    ]
    [email] = await emails_to(runtime, who.email, "schedule_paused")
    assert "paused your automatic top-up" in str(email.body)
    assert "did not deliver" in str(email.body)
    await rounds(runtime, 2)
    assert len(await orders_of_schedule(runtime, made["id"])) == 3  # paused: no more runs
    await assert_ledger_clean(runtime)


async def test_a_declined_card_pauses_the_schedule_as_a_payment_failure(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client, card=DECLINED)
    made = await create(client, who)

    await rounds(runtime, 1)
    for delay in RETRY_DELAYS:
        clock.advance(delay.total_seconds())
        await rounds(runtime, 1)

    schedule = await stored(runtime, made["id"])
    assert (schedule.status, schedule.pause_reason) == ("paused", "payment_failed")
    assert schedule.last_failure_code == "card_declined"
    assert [o.status for o in await orders_of_schedule(runtime, made["id"])] == ["declined"] * 3
    assert len(await emails_to(runtime, who.email, "schedule_paused")) == 1
    await assert_ledger_clean(runtime)


async def test_a_removed_card_pauses_the_schedule_at_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    assert (await client.delete(f"/v1/cards/{who.card_id}", headers=who.headers)).status_code == 204

    await rounds(runtime, 1)

    shown = await read(client, who, made["id"])
    assert (shown["status"], shown["pause_reason"], shown["failed_attempts"]) == (
        "paused",
        "card_not_found",
        1,
    )
    assert shown["last_run"] == {
        "order_id": None,
        "status": None,
        "failure_code": "card_not_found",
        "at": shown["last_run"]["at"],
    }
    assert await orders_of_customer(runtime, who.id) == []
    [email] = await emails_to(runtime, who.email, "schedule_paused")
    assert "no longer saved" in str(email.body)

    # A new card, then resume: the next due date runs, paid with it.
    details = {"number": "5555555555554444", "exp_month": 12, "exp_year": clock.now().year + 2}
    saved = await client.post("/v1/cards", json=details | {"cvc": "123"}, headers=who.headers)
    path = f"/v1/schedules/{made['id']}"
    await client.patch(path, json={"card_id": saved.json()["id"]}, headers=who.headers)
    resumed = (await client.post(f"{path}/resume", headers=who.headers)).json()
    assert (resumed["status"], resumed["failed_attempts"]) == ("active", 0)
    await move_to(parse(resumed["next_run_at"]))
    await rounds(runtime, 1)
    [order] = await orders_of_customer(runtime, who.id)
    assert (order.card_last4, order.status) == ("4444", "succeeded")


async def test_a_ported_number_pauses_the_schedule_until_a_product_of_its_new_operator_is_chosen(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await holder(runtime, client)
    # Made while only the prefixes were known (as when the supplier's lookup is down):
    # they name the operator the number was first given to.
    supplier_lookup = runtime.number_lookup
    monkeypatch.setattr(runtime, "number_lookup", PrefixLookup(runtime.catalogue))
    made = await create(client, who, recipient_phone=PORTED)
    assert made["operator"]["id"] == "ng-mtn"
    monkeypatch.setattr(runtime, "number_lookup", supplier_lookup)  # the supplier knows better

    await rounds(runtime, 1)

    shown = await read(client, who, made["id"])
    assert (shown["status"], shown["pause_reason"]) == ("paused", "operator_changed")
    assert await orders_of_customer(runtime, who.id) == []  # nothing paid for the wrong network
    [email] = await emails_to(runtime, who.email, "schedule_paused")
    assert "has moved to" in str(email.body)
    path = f"/v1/schedules/{made['id']}"
    refused = await client.post(f"{path}/resume", headers=who.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "operator_changed")

    new_operator = (await client.get(f"/v1/lookup?phone=%2B{PORTED[1:]}")).json()["operator"]["id"]
    changed = await client.patch(
        path, json={"product_id": f"{new_operator}-2500"}, headers=who.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["operator"]["id"] == new_operator
    resumed = await client.post(f"{path}/resume", headers=who.headers)
    assert resumed.status_code == 200, resumed.text
    await move_to(parse(resumed.json()["next_run_at"]))
    await rounds(runtime, 1)

    [order] = await orders_of_customer(runtime, who.id)
    assert (order.operator_id, order.status) == (new_operator, "succeeded")


async def test_a_cancelled_schedule_places_no_more_orders(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who)
    await rounds(runtime, 1)
    assert len(await orders_of_customer(runtime, who.id)) == 1

    assert (
        await client.delete(f"/v1/schedules/{made['id']}", headers=who.headers)
    ).status_code == 204
    for _ in range(3):
        clock.advance(timedelta(days=7).total_seconds())
        await rounds(runtime, 1)

    assert len(await orders_of_customer(runtime, who.id)) == 1
    assert (await stored(runtime, made["id"])).status == "cancelled"


async def test_a_paused_schedule_places_no_orders_and_an_order_in_flight_finishes_alone(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    who = await holder(runtime, client)
    made = await create(client, who, recipient_phone="+2348031230002")  # pending, then succeeds
    await run_due(runtime)  # placed and pending at the operator
    [order] = await orders_of_customer(runtime, who.id)
    assert order.status == "pending"

    paused = await client.post(f"/v1/schedules/{made['id']}/pause", headers=who.headers)
    assert paused.json()["last_run"]["order_id"] == order.id
    await rounds(runtime, 3)
    clock.advance(timedelta(days=8).total_seconds())
    await rounds(runtime, 2)

    [finished] = await orders_of_customer(runtime, who.id)
    assert finished.status == "succeeded"
    assert (await stored(runtime, made["id"])).status == "paused"


async def test_a_run_over_a_limit_is_rejected_retried_and_then_pauses_the_schedule(
    risky: Risky,
) -> None:
    """With the shipped rules (at most EUR 80 a day to one number), each run of a
    EUR 100-plus top-up is a rejected order, as any order would be."""
    email = new_email()
    customer_id, headers = await risky.buyer(email=email, email_key=email_key(email))
    details = {"number": VISA, "exp_month": 12, "exp_year": clock.now().year + 2, "cvc": "123"}
    card = (await risky.http.post("/v1/cards", json=details, headers=headers)).json()
    body = {
        "recipient_phone": SUCCEEDS,
        "product_id": "ng-mtn-range",
        "amount": {"amount": 20000000, "currency": "NGN"},
        "card_id": card["id"],
        "every": "14d",
    }
    made = await risky.http.post("/v1/schedules", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["price"]["amount"] > 8000

    await rounds(risky.runtime, 1)
    for delay in RETRY_DELAYS:
        clock.advance(delay.total_seconds())
        await rounds(risky.runtime, 1)

    schedule = await stored(risky.runtime, made.json()["id"])
    assert (schedule.status, schedule.pause_reason) == ("paused", "limit_exceeded")
    orders = await orders_of_customer(risky.runtime, customer_id)
    assert [(order.status, order.failure_code) for order in orders] == [
        ("rejected", "limit_exceeded")
    ] * 3
    assert len(await emails_to(risky.runtime, email, "schedule_paused")) == 1
    await assert_ledger_clean(risky.runtime)
