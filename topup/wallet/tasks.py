"""The worker's part for the wallet: finish fundings a crash or an outage left open."""

from __future__ import annotations

import structlog

from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.wallet.repository import WalletRepository
from topup.wallet.service import LEASE, FundingDeps, advance_funding

BATCH = 50
log = structlog.get_logger("topup.worker")


async def run_due(deps: FundingDeps, *, limit: int = BATCH) -> int:
    """One round: every open funding past its lease is taken to its end."""
    async with unit_of_work(deps.session_factory) as session:
        repository = WalletRepository(session)
        now = clock.now()
        due = await repository.due_fundings(now, limit=limit)
        claimed = [
            funding_id
            for funding_id in due
            if await repository.take_funding(funding_id, now=now, lease_until=now + LEASE)
        ]
    for funding_id in claimed:
        try:
            await advance_funding(deps, funding_id)
        except Exception:  # the gateway may be away: the lease lapses and it comes back
            log.exception("funding_step_failed", funding_id=funding_id)
    return len(claimed)
