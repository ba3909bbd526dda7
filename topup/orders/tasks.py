"""The worker's part for orders: claim what is due, move each order one step.

Claiming pushes ``due_at`` forward by a lease in a short transaction (on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, so workers on any number of machines never pick the same order
at once); the step itself then runs with no lock held. A worker that dies mid-step simply
lets the lease run out, and the order falls due again for whichever worker comes next.
"""

from __future__ import annotations

from datetime import timedelta

from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.leases import step_each
from topup.orders.lifecycle import OrderDeps, advance
from topup.orders.repository import OrderRepository

LEASE = timedelta(seconds=30)
BATCH = 50


async def claim_due(deps: OrderDeps, *, limit: int = BATCH) -> list[str]:
    async with unit_of_work(deps.session_factory) as session:
        repository = OrderRepository(session)
        skip_locked = session.get_bind().dialect.name == "postgresql"
        now = clock.now()
        due = await repository.due_ids(now, limit=limit, skip_locked=skip_locked)
        return [
            order_id
            for order_id in due
            if await repository.take(order_id, now=now, lease_until=now + LEASE)
        ]


async def run_due(deps: OrderDeps, *, limit: int = BATCH) -> int:
    """One round: every due order moves one step. Returns how many were moved."""
    claimed = await claim_due(deps, limit=limit)
    await step_each(
        claimed, lambda order_id: advance(deps, order_id), failure_event="order_step_failed"
    )
    return len(claimed)
