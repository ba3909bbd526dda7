"""Billing on the 1st, moving the clock across month ends (February and a 31st among
them): each cycle is charged once, whoever runs the worker and however late; on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import text

from tests.accounts.helpers import PASSWORD
from tests.subscriptions.conftest import (
    Subscriber,
    at,
    charges,
    emails,
    move_to,
    orders_for,
    recipient,
    work,
)
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.ledger.checks import check_ledger
from topup.providers.suppliers.base import NumberInfo
from topup.runtime import Runtime
from topup.subscriptions import billing, tasks
from topup.subscriptions.cycles import charge_key, cycle_end, cycle_of, next_first
from topup.subscriptions.models import Subscription
from topup.subscriptions.repository import SubscriptionRepository

MakeSubscriber = Callable[..., Awaitable[Subscriber]]


def moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def test_cycles_are_calendar_months_in_utc() -> None:
    assert next_first(at(2027, 1, 31, 23, 59, 59)) == at(2027, 2, 1)
    assert next_first(at(2027, 2, 28, 12)) == at(2027, 3, 1)
    assert next_first(at(2028, 2, 29, 23)) == at(2028, 3, 1)  # a leap year's last day
    assert next_first(at(2027, 12, 31, 23)) == at(2028, 1, 1)
    assert next_first(at(2027, 3, 1)) == at(2027, 4, 1)  # from a 1st at 00:00, the next one
    assert cycle_of(at(2027, 2, 1)) == "2027-02"
    assert cycle_end("2027-12") == at(2028, 1, 1)
    assert charge_key("sub_1", "2027-02", 0) == "subscription:sub_1:2027-02"
    assert charge_key("sub_1", "2027-02", 2) == "subscription:sub_1:2027-02:retry2"


async def test_a_mid_month_subscription_is_charged_now_and_next_on_the_1st(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2027, 1, 15, 10, 30))
    person = await subscriber()

    response = await person.subscribe(recipient())

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "incomplete"  # the first charge's order is in flight
    assert created["billing"] == "monthly_on_the_1st"
    assert [charge["renewal"] for charge in created["charges"]] == [False]
    subscription = await person.get(created["id"])
    assert subscription["status"] == "active"
    assert subscription["current_cycle"] == "2027-01"
    assert moment(subscription["current_period_end"]) == at(2027, 2, 1)
    assert moment(subscription["next_charge_at"]) == at(2027, 2, 1)
    [order] = await orders_for(runtime, person.id)
    assert (order.status, order.product_type, order.product_id) == (
        "succeeded",
        "plan",
        "ng-mtn-plan-25000",
    )
    assert subscription["charges"][0]["order_id"] == order.id


async def test_a_subscription_made_on_the_31st_is_charged_once_a_month_through_february(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2027, 1, 31, 12))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]

    move_to(at(2027, 1, 31, 23, 59, 59))
    await work(runtime)
    assert [charge.cycle for charge in await charges(runtime, subscription_id)] == ["2027-01"]

    move_to(at(2027, 2, 1))
    await work(runtime)
    await work(runtime)  # a second pass finds nothing more to charge
    after_february = await person.get(subscription_id)
    assert after_february["status"] == "active"
    assert after_february["current_cycle"] == "2027-02"
    assert moment(after_february["next_charge_at"]) == at(2027, 3, 1)

    move_to(at(2027, 2, 28, 23, 59, 59))
    await work(runtime)
    move_to(at(2027, 3, 1))
    await work(runtime)
    move_to(at(2027, 3, 20))
    await work(runtime)

    made = await charges(runtime, subscription_id)
    assert [(charge.cycle, charge.attempt, charge.renewal) for charge in made] == [
        ("2027-01", 0, False),
        ("2027-02", 0, True),
        ("2027-03", 0, True),
    ]
    assert {charge.status for charge in made} == {"succeeded"}
    orders = await orders_for(runtime, person.id)
    assert sorted(order.id for order in orders) == sorted(str(charge.order_id) for charge in made)
    assert {order.status for order in orders} == {"succeeded"}
    assert moment((await person.get(subscription_id))["next_charge_at"]) == at(2027, 4, 1)
    async with runtime.session_factory() as session:
        assert [str(breach) for breach in await check_ledger(session)] == []


async def test_two_workers_on_the_same_due_renewal_charge_it_once(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2027, 5, 20))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    move_to(at(2027, 6, 1, 0, 0, 5))

    # Two whole worker rounds at once, then two steps that both act as if they held the
    # row (a lease that lapsed under a slow worker): one charge, one order.
    await asyncio.gather(tasks.run_due(runtime), tasks.run_due(runtime))
    await asyncio.gather(
        billing.advance(runtime, subscription_id),
        billing.advance(runtime, subscription_id),
        return_exceptions=True,
    )
    await work(runtime)

    made = await charges(runtime, subscription_id)
    assert [(charge.cycle, charge.attempt) for charge in made] == [("2027-05", 0), ("2027-06", 0)]
    assert len(await orders_for(runtime, person.id)) == 2
    assert (await person.get(subscription_id))["current_cycle"] == "2027-06"


async def test_a_cancellation_just_before_the_1st_stops_the_charge_even_with_a_late_worker(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2027, 7, 10))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    move_to(at(2027, 7, 31, 23, 59, 59))

    response = await person.cancel(subscription_id)

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["next_charge_at"] is None
    assert moment(cancelled["service_ends_at"]) == moment(cancelled["cancelled_at"])
    assert moment(cancelled["cancelled_at"]) < at(2027, 8, 1)  # type: ignore[operator]
    move_to(at(2027, 8, 1, 3))  # the worker was down over midnight
    await work(runtime)
    move_to(at(2027, 9, 2))
    await work(runtime)
    assert [charge.cycle for charge in await charges(runtime, subscription_id)] == ["2027-07"]
    again = await person.cancel(subscription_id)  # cancelling twice changes nothing
    assert again.status_code == 200
    assert again.json()["cancelled_at"] == cancelled["cancelled_at"]


async def test_a_cancellation_just_after_midnight_on_the_1st_still_owes_that_cycle_only(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2027, 9, 12))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    move_to(at(2027, 10, 1, 0, 0, 1))  # the worker has not run yet

    cancelled = (await person.cancel(subscription_id)).json()

    assert cancelled["status"] == "cancelled"
    assert moment(cancelled["service_ends_at"]) >= at(2027, 10, 1, 0, 0, 1)  # type: ignore[operator]
    assert moment(cancelled["next_charge_at"]) == at(2027, 10, 1)  # owed, and not refundable
    await work(runtime)
    move_to(at(2027, 11, 1, 1))
    await work(runtime)
    made = await charges(runtime, subscription_id)
    assert [(charge.cycle, charge.renewal, charge.status) for charge in made] == [
        ("2027-09", False, "succeeded"),
        ("2027-10", True, "succeeded"),
    ]
    after = await person.get(subscription_id)
    assert (after["status"], after["next_charge_at"]) == ("cancelled", None)
    [email] = await emails(runtime, person.id, "subscription_cancelled")
    assert email.body is not None
    assert "2027-10 began before you cancelled" in email.body


async def test_a_worker_that_dies_after_placing_a_renewal_leaves_one_charge(
    subscriber: MakeSubscriber, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    move_to(at(2028, 11, 20))
    person = await subscriber()
    subscription_id = (await person.subscribe(recipient())).json()["id"]
    move_to(at(2028, 12, 1))

    async def dies(*_: object, **__: object) -> None:
        raise RuntimeError("the worker process is killed here")

    with monkeypatch.context() as patched:
        patched.setattr(billing, "drive", dies)
        assert await tasks.run_due(runtime) >= 1  # the charge is placed, then the crash
    clock.advance(billing.LEASE.total_seconds() + 1)
    for _ in range(4):  # the order worker takes the order on; the subscription follows it
        await work(runtime)
        clock.advance(billing.FOLLOW.total_seconds() + 1)

    made = await charges(runtime, subscription_id)
    assert [(charge.cycle, charge.attempt, charge.status) for charge in made] == [
        ("2028-11", 0, "succeeded"),
        ("2028-12", 0, "succeeded"),
    ]
    assert len(await orders_for(runtime, person.id)) == 2


async def test_a_cancellation_while_the_first_charge_is_in_flight_lets_it_finish(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    person = await subscriber()
    phone = recipient()[:-4] + "0002"  # pending at the supplier, delivered at the first poll
    created = (await person.subscribe(phone)).json()
    assert (await person.get(created["id"]))["status"] == "incomplete"

    cancelled = (await person.cancel(created["id"])).json()
    assert (cancelled["status"], cancelled["next_charge_at"]) == ("cancelled", None)
    for _ in range(4):  # the order's status polls, then the subscription follows it
        clock.advance(61)
        await work(runtime)

    after = await person.get(created["id"])
    assert (after["status"], after["next_charge_at"]) == ("cancelled", None)
    assert after["service_ends_at"] == cancelled["service_ends_at"]
    assert [charge["status"] for charge in after["charges"]] == ["succeeded"]
    [order] = await orders_for(runtime, person.id)
    assert order.status == "succeeded"  # the bundle was on its way: it is delivered


async def test_deleting_the_account_ends_its_plans_at_once(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2029, 1, 12))
    person = await subscriber(password=PASSWORD)
    subscription_id = (await person.subscribe(recipient())).json()["id"]

    deleted = await person.http.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=await person.headers()
    )

    assert deleted.status_code == 204, deleted.text
    move_to(at(2029, 2, 1, 1))
    await work(runtime)
    made = await charges(runtime, subscription_id)
    assert [charge.cycle for charge in made] == ["2029-01"]
    async with runtime.session_factory() as session:
        ended = await session.get(Subscription, subscription_id)
        assert ended is not None
        assert (ended.status, ended.ended_reason, ended.next_charge_at) == (
            "cancelled",
            "account_deleted",
            None,
        )
        # Its bundle, delivered after the deletion, was ended at the supplier.
        assert ended.service_end_order_id == made[0].order_id
        assert ended.service_ended_confirmed_at is not None


async def test_a_renewal_looks_the_number_up_before_it_locks_the_subscription(
    subscriber: MakeSubscriber, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    move_to(at(2030, 5, 20))
    person = await subscriber()
    phone = recipient()
    subscription_id = (await person.subscribe(phone)).json()["id"]
    move_to(at(2030, 6, 1))
    supplier = runtime.number_lookup
    locked_during_lookup: list[str] = []

    class LocksWhileLookingUp:
        """The supplier's lookup, during which another transaction locks the row: it
        gets the lock only if the renewal does not hold it across the call."""

        async def lookup(self, e164: str) -> NumberInfo:
            if e164 == phone:
                async with unit_of_work(runtime.session_factory) as session:
                    if runtime.settings.database_url.startswith("postgresql"):  # fail, not hang
                        await session.execute(text("SET LOCAL lock_timeout = '5s'"))
                    repository = SubscriptionRepository(session)
                    assert await repository.subscription(subscription_id, for_update=True)
                locked_during_lookup.append(e164)
            return await supplier.lookup(e164)

    monkeypatch.setattr(runtime, "number_lookup", LocksWhileLookingUp())
    await work(runtime)

    assert locked_during_lookup == [phone]  # looked up once, for the charge and its order
    made = await charges(runtime, subscription_id)
    assert [(charge.cycle, charge.status) for charge in made] == [
        ("2030-05", "succeeded"),
        ("2030-06", "succeeded"),
    ]
