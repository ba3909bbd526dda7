"""The worker's part for monthly plans: charge the subscriptions that are due (the 1st, a
retry) and follow the charges in flight."""

from __future__ import annotations

from topup.kit.leases import run_leased
from topup.runtime import Runtime
from topup.subscriptions.billing import LEASE, advance
from topup.subscriptions.repository import SubscriptionRepository

BATCH = 50


async def run_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """One round: every due subscription is leased and stepped once."""

    async def step(subscription_id: str) -> None:
        await advance(runtime, subscription_id)

    return await run_leased(
        runtime.session_factory,
        SubscriptionRepository,
        step,
        lease=LEASE,
        limit=limit,
        failure_event="subscription_step_failed",
    )
