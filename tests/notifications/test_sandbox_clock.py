"""``POST /v1/sandbox/clock``: time moves forward, for this process and, through the
database, for every worker."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import delete

from topup.kit import clock, sandbox_clock
from topup.runtime import Runtime


async def test_the_clock_moves_forward_and_workers_take_it_up(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    before = clock.now()
    moved = await client.post("/v1/sandbox/clock", json={"advance_seconds": 86400})
    assert moved.status_code == 200, moved.text
    assert clock.now() - before >= timedelta(days=1)
    offset = moved.json()["offset_seconds"]
    assert offset >= 86400
    clock.reset()  # as in another process, which has not moved its clock
    async with runtime.session_factory() as session:
        await sandbox_clock.sync(session)
    assert clock.offset_seconds() == offset
    async with runtime.session_factory() as session:  # leave the shared row as found
        await session.execute(delete(sandbox_clock.SandboxClock))
        await session.commit()


async def test_the_clock_never_goes_back(client: httpx.AsyncClient) -> None:
    for seconds in (0, -5, 10**9):
        refused = await client.post("/v1/sandbox/clock", json={"advance_seconds": seconds})
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "advance_seconds"
