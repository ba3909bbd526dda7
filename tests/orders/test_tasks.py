"""The order worker's claim: an order due now is leased to one worker only, on both
databases (SQLite's FOR UPDATE locks nothing, so the claim itself must be atomic); and the
orders a worker claims are stepped side by side, not one supplier wait after another."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from datetime import datetime
from typing import Any

from tests.orders.support import new_order
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.orders.repository import OrderRepository
from topup.orders.tasks import LEASE, run_due
from topup.providers.suppliers.base import TopupRequest, TopupResult
from topup.providers.suppliers.simulator import SupplierSimulator
from topup.runtime import Runtime


async def test_two_workers_that_read_the_same_due_order_lease_it_once(runtime: Runtime) -> None:
    order_id = await new_order(runtime, "+2348031234567")
    now = clock.now()
    lease = now + LEASE
    async with runtime.session_factory() as first, runtime.session_factory() as second:
        assert order_id in await OrderRepository(first).due_ids(now, limit=500, skip_locked=False)
        assert order_id in await OrderRepository(second).due_ids(now, limit=500, skip_locked=False)
        taken_first = await OrderRepository(first).take(order_id, now=now, lease_until=lease)
        await first.commit()
        taken_second = await OrderRepository(second).take(order_id, now=now, lease_until=lease)
        await second.commit()

    assert (taken_first, taken_second) == (True, False)


async def test_a_leased_order_is_due_again_once_the_lease_lapses(runtime: Runtime) -> None:
    order_id = await new_order(runtime, "+2348031234567")
    now = clock.now()

    async def take(at: datetime) -> bool:
        async with unit_of_work(runtime.session_factory) as session:
            return await OrderRepository(session).take(order_id, now=at, lease_until=at + LEASE)

    assert await take(now)
    assert not await take(now + LEASE / 2)
    assert await take(now + LEASE)


class MeetingSupplier:
    """Wraps the supplier so each top-up of ``references`` waits until all of them are out
    at once: a worker that stepped its orders one after another would never get there.
    Any other order the round finds due (one an earlier test left behind, on the shared
    database) goes straight through, so it cannot take a place at the meeting."""

    def __init__(self, inner: SupplierSimulator, references: Collection[str]) -> None:
        self._inner = inner
        self._references = frozenset(references)
        self._barrier = asyncio.Barrier(len(self._references))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send_topup(self, request: TopupRequest) -> TopupResult:
        if request.reference in self._references:
            async with asyncio.timeout(5):
                await self._barrier.wait()
        return await self._inner.send_topup(request)


async def test_one_worker_round_steps_its_orders_side_by_side(runtime: Runtime) -> None:
    # A supplier answers in seconds: a worker waiting on one top-up at a time would move
    # one order per answer. Here three sends must be out together for any to go through.
    orders = [await new_order(runtime, f"+23480312345{index}7") for index in range(3)]
    assert isinstance(runtime.supplier, SupplierSimulator)
    deps = dataclasses.replace(
        runtime.order_deps(), supplier=MeetingSupplier(runtime.supplier, orders)
    )

    await run_due(deps)  # created -> authorized
    await run_due(deps)  # authorized -> submitted -> sent, all three at once

    async with runtime.session_factory() as session:
        statuses = [(await OrderRepository(session).order(order_id)) for order_id in orders]
    assert [order.status for order in statuses if order] == ["succeeded"] * 3
