"""The worker's part for refunds: automatic checks, and paying approved requests."""

from __future__ import annotations

from datetime import timedelta

import structlog

from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.refunds.repository import RefundRepository
from topup.refunds.service import RefundDeps, advance_refund

LEASE = timedelta(seconds=30)
BATCH = 50
log = structlog.get_logger("topup.worker")


async def run_due(deps: RefundDeps, *, limit: int = BATCH) -> int:
    """One round: every due request moves one step. Returns how many were moved."""
    async with unit_of_work(deps.session_factory) as session:
        repository = RefundRepository(session)
        now = clock.now()
        due = await repository.due_ids(now, limit=limit)
        claimed = [
            request_id
            for request_id in due
            if await repository.take(request_id, now=now, lease_until=now + LEASE)
        ]
    for request_id in claimed:
        try:
            await advance_refund(deps, request_id)
        except Exception:  # the gateway may be away: the lease lapses and it comes back
            log.exception("refund_step_failed", refund_request_id=request_id)
    return len(claimed)
