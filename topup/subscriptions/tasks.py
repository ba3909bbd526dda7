"""The worker's part for monthly plans: charge the subscriptions that are due (the 1st, a
retry), follow the charges in flight, and tell the supplier of each plan whose service
stopped (``service_end``)."""

from __future__ import annotations

from topup.kit.leases import run_leased
from topup.runtime import Runtime
from topup.subscriptions import service_end
from topup.subscriptions.billing import LEASE, advance
from topup.subscriptions.repository import SubscriptionRepository

BATCH = 50


async def run_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """One round: every due subscription is leased and stepped once."""

    async def step(subscription_id: str) -> None:
        await advance(runtime, subscription_id)

    moved = await run_leased(
        runtime.session_factory,
        SubscriptionRepository,
        step,
        lease=LEASE,
        limit=limit,
        failure_event="subscription_step_failed",
    )
    return moved + await service_end.run_due(runtime, limit=limit)
