"""Telling the supplier that a plan's service stopped: after the cancellation commits, the
worker ends the live bundle at the supplier once (two workers racing, a crash between the
call and its record), asks again with a backoff when the supplier cannot tell, and the
refund waits for the confirmed end. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.orders.support import CrashOnce
from tests.subscriptions.conftest import Subscriber, at, move_to, recipient, work
from tests.subscriptions.test_refunds import preview
from topup.kit import clock
from topup.providers.suppliers.base import SupplierUnavailable
from topup.providers.suppliers.simulator_models import SimulatedEndedPlan
from topup.runtime import Runtime
from topup.subscriptions import service_end
from topup.subscriptions.models import Subscription

MakeSubscriber = Callable[..., Awaitable[Subscriber]]


async def stored(runtime: Runtime, subscription_id: str) -> Subscription:
    async with runtime.session_factory() as session:
        found = await session.get(Subscription, subscription_id)
        assert found is not None
        return found


async def ended_at_supplier(runtime: Runtime, reference: str) -> list[datetime]:
    async with runtime.session_factory() as session:
        query = select(SimulatedEndedPlan.ended_at).where(SimulatedEndedPlan.reference == reference)
        return list((await session.scalars(query)).all())


async def cancelled_plan(person: Subscriber) -> tuple[str, str]:
    """An active plan (its first charge delivered), then cancelled."""
    created = (await person.subscribe(recipient())).json()
    await work(person.runtime)
    assert (await person.get(created["id"]))["status"] == "active"
    assert (await person.cancel(created["id"])).status_code == 200
    return created["id"], created["charges"][0]["order_id"]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Unavailable:
    """A supplier that cannot end plans for its first ``failures`` calls, then answers."""

    def __init__(self, inner: Any, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def end_plan(self, reference: str) -> datetime:
        if self.failures > 0:
            self.failures -= 1
            raise SupplierUnavailable("no answer")
        answer: datetime = await self._inner.end_plan(reference)
        return answer


async def test_a_cancelled_plan_is_ended_at_the_supplier_once_by_two_racing_workers(
    subscriber: MakeSubscriber, runtime: Runtime
) -> None:
    move_to(at(2031, 3, 10, 12))
    person = await subscriber()
    subscription_id, first_order = await cancelled_plan(person)
    before = await person.get(subscription_id)

    # Two workers' rounds at once: the lease gives the row to one of them.
    taken = await asyncio.gather(service_end.run_due(runtime), service_end.run_due(runtime))
    await work(runtime)  # and later rounds find nothing more to do

    assert sum(taken) == 1
    [ended] = await ended_at_supplier(runtime, first_order)
    row = await stored(runtime, subscription_id)
    assert (row.service_ended_confirmed_at, row.service_end_order_id) == (ended, first_order)
    assert row.service_end_due_at is None
    assert before["service_ended_confirmed_at"] is None
    shown = await person.get(subscription_id)
    assert moment(shown["service_ended_confirmed_at"]) == ended


async def test_a_crash_after_the_supplier_ended_the_plan_records_the_same_moment(
    subscriber: MakeSubscriber, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    move_to(at(2031, 4, 10, 12))
    person = await subscriber()
    subscription_id, first_order = await cancelled_plan(person)
    real = runtime.supplier
    monkeypatch.setattr(runtime, "supplier", CrashOnce(real, "end_plan"))

    await service_end.run_due(runtime)  # the call is made, then the process "dies"
    [ended] = await ended_at_supplier(runtime, first_order)
    assert (await stored(runtime, subscription_id)).service_ended_confirmed_at is None
    clock.advance(service_end.LEASE.total_seconds() + 1)  # the lease lapses
    assert await service_end.run_due(runtime) == 1

    assert await ended_at_supplier(runtime, first_order) == [ended]
    assert (await stored(runtime, subscription_id)).service_ended_confirmed_at == ended


async def test_a_supplier_that_cannot_tell_is_asked_again_and_the_refund_waits_for_it(
    subscriber: MakeSubscriber, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    move_to(at(2031, 5, 27, 12))  # the first period ends on 1 June
    person = await subscriber()
    subscription_id, first_order = await cancelled_plan(person)
    failing = Unavailable(runtime.supplier, failures=2)
    monkeypatch.setattr(runtime, "supplier", failing)

    assert await service_end.run_due(runtime) == 1
    first_retry = await stored(runtime, subscription_id)
    refused = await preview(person, first_order)
    clock.advance(59)
    assert await service_end.run_due(runtime) == 0  # not before its backoff
    clock.advance(1)
    assert await service_end.run_due(runtime) == 1
    second_retry = await stored(runtime, subscription_id)
    clock.advance(120)
    assert await service_end.run_due(runtime) == 1
    confirmed = await stored(runtime, subscription_id)
    refundable = await preview(person, first_order)

    assert (first_retry.service_end_attempts, first_retry.service_ended_confirmed_at) == (1, None)
    assert first_retry.service_end_due_at == at(2031, 5, 27, 12, 1)
    assert (refused["refundable"], refused["rule"]) == (False, "service_end_unconfirmed")
    assert second_retry.service_end_due_at == at(2031, 5, 27, 12, 3)
    [ended] = await ended_at_supplier(runtime, first_order)
    assert ended == at(2031, 5, 27, 12, 3)
    assert confirmed.service_ended_confirmed_at == ended
    assert refundable["refundable"] is True
    # Counted from the confirmed end, three minutes after the cancellation.
    paid = (await person.get(subscription_id))["price"]["amount"]
    period = (at(2031, 6, 1) - at(2031, 5, 27, 12)).total_seconds()
    unused = (at(2031, 6, 1) - ended).total_seconds()
    assert refundable["amount"]["amount"] == paid * int(unused) // int(period)
