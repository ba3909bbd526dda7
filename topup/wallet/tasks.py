"""The worker's part for the wallet: finish fundings a crash or an outage left open."""

from __future__ import annotations

from topup.kit.leases import run_leased
from topup.wallet.repository import WalletRepository
from topup.wallet.service import LEASE, FundingDeps, advance_funding

BATCH = 50


async def run_due(deps: FundingDeps, *, limit: int = BATCH) -> int:
    """One round: every open funding past its lease is taken to its end."""

    async def step(funding_id: str) -> object:
        return await advance_funding(deps, funding_id)

    return await run_leased(
        deps.session_factory,
        WalletRepository,
        step,
        lease=LEASE,
        limit=limit,
        failure_event="funding_step_failed",
    )
