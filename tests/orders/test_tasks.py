"""The order worker's claim: an order due now is leased to one worker only, on both
databases (SQLite's FOR UPDATE locks nothing, so the claim itself must be atomic)."""

from __future__ import annotations

from datetime import datetime

from tests.orders.support import new_order
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.orders.repository import OrderRepository
from topup.orders.tasks import LEASE
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
