"""The worker's part for refunds: automatic checks, and paying approved requests."""

from __future__ import annotations

from datetime import timedelta

from topup.kit.leases import run_leased
from topup.refunds.repository import RefundRepository
from topup.refunds.service import RefundDeps, advance_refund

LEASE = timedelta(seconds=30)
BATCH = 50


async def run_due(deps: RefundDeps, *, limit: int = BATCH) -> int:
    """One round: every due request moves one step. Returns how many were moved."""

    async def step(request_id: str) -> object:
        return await advance_refund(deps, request_id)

    return await run_leased(
        deps.session_factory,
        RefundRepository,
        step,
        lease=LEASE,
        limit=limit,
        failure_event="refund_step_failed",
    )
