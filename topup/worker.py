"""The worker loop of `topup worker` and of the worker inside `topup serve`.

Each round moves every due order one step and gives every due message one attempt; the
rows themselves are the queue (DESIGN §2), so any number of these loops can run at once.
"""

from __future__ import annotations

import asyncio

import structlog

from topup.catalogue import tasks as catalogue_tasks
from topup.kit import sandbox_clock
from topup.notifications import tasks as notification_tasks
from topup.orders import tasks as order_tasks
from topup.refunds import tasks as refund_tasks
from topup.runtime import Runtime
from topup.schedules import tasks as schedule_tasks
from topup.subscriptions import tasks as subscription_tasks
from topup.wallet import tasks as wallet_tasks

log = structlog.get_logger("topup.worker")


async def run_round(runtime: Runtime) -> int:
    """One pass over everything due; returns how much work it found."""
    if runtime.settings.is_sandbox:  # a sandbox clock moved by another process applies here
        async with runtime.session_factory() as session:
            await sandbox_clock.sync(session)
    # Auto top-ups and plan renewals first: a run places its order and drives it at once.
    moved = await schedule_tasks.run_due(runtime)
    moved += await subscription_tasks.run_due(runtime)
    moved += await order_tasks.run_due(runtime.order_deps())
    moved += await wallet_tasks.run_due(runtime.funding_deps())
    moved += await refund_tasks.run_due(runtime.refund_deps())
    moved += await catalogue_tasks.run_due(runtime.promotion_sync_deps())
    # Messages come second: an order finished in this round has its receipt sent in it.
    return moved + await notification_tasks.run_due(runtime.notification_deps())


async def run_forever(runtime: Runtime, *, idle_seconds: float = 0.5) -> None:
    while True:
        try:
            worked = await run_round(runtime)
        except Exception:  # the database may be away for a moment: try again shortly
            log.exception("worker_round_failed")
            worked = 0
        if worked == 0:
            await asyncio.sleep(idle_seconds)
