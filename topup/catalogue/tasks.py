"""The worker's part for the catalogue: fetch the supplier's operator promotions hourly."""

from __future__ import annotations

from topup.catalogue.promotions import (
    SYNC_LEASE,
    PromotionSyncDeps,
    ensure_sync_row,
    sync_promotions,
)
from topup.catalogue.repository import PromotionSyncRepository
from topup.kit.leases import run_leased


async def run_due(deps: PromotionSyncDeps) -> int:
    """One round: the supplier's promotions are synced if their hour has come (1), else
    nothing is done (0). A failed sync keeps its lease, so it is tried again after it."""
    await ensure_sync_row(deps)

    async def step(supplier: str) -> object:
        return await sync_promotions(deps)

    return await run_leased(
        deps.session_factory,
        lambda session: PromotionSyncRepository(session, deps.supplier),
        step,
        lease=SYNC_LEASE,
        limit=1,
        failure_event="promotion_sync_failed",
    )
