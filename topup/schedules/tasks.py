"""The worker's part for schedules: every due schedule runs (or follows its run) once."""

from __future__ import annotations

from datetime import timedelta

from topup.kit.leases import run_leased
from topup.runtime import Runtime
from topup.schedules.repository import ScheduleRepository
from topup.schedules.runs import run_schedule

# A step looks the number up, places an order and drives it to the supplier: seconds at a
# real supplier. A lease that lapses mid-step is harmless (the run's key and intent row
# keep it to one order), it only costs a second worker a wasted look.
LEASE = timedelta(minutes=2)
BATCH = 50


async def run_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """One round: every due schedule moves one step. Returns how many did."""

    async def step(schedule_id: str) -> None:
        await run_schedule(runtime, schedule_id)

    return await run_leased(
        runtime.session_factory,
        ScheduleRepository,
        step,
        lease=LEASE,
        limit=limit,
        failure_event="schedule_step_failed",
    )
