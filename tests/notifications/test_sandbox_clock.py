"""``POST /v1/sandbox/clock``: time moves forward, for this process and, through the
database, for every worker and every API process, started before the move or after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.transport import serve
from tests.notifications.support import production
from topup.config import Settings
from topup.kit import clock, sandbox_clock
from topup.kit.db import unit_of_work
from topup.runtime import Runtime, build_runtime

FOLLOWING = 0.01  # seconds between reads of the stored offset, for these tests


@pytest.fixture(autouse=True)
async def _forget_the_stored_clock(runtime: Runtime) -> AsyncIterator[None]:
    """The database is shared by the whole suite: leave the clock's row as found."""
    yield
    async with unit_of_work(runtime.session_factory) as session:
        await session.execute(delete(sandbox_clock.SandboxClock))


async def moved_elsewhere(runtime: Runtime, seconds: float) -> float:
    """Store a move as another process makes it: this process's clock stays where it was."""
    async with unit_of_work(runtime.session_factory) as session:
        offset = await sandbox_clock.advance(session, seconds)
    clock.reset()
    return offset


async def until_the_clock_reads(offset: float) -> None:
    for _ in range(500):  # 5 s at most, far beyond a few reads at FOLLOWING
        if clock.offset_seconds() == offset:
            return
        await asyncio.sleep(FOLLOWING)
    raise AssertionError(f"the clock stayed at {clock.offset_seconds()}, not {offset}")


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


async def test_an_api_process_started_after_the_move_runs_on_the_moved_clock(
    client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    """A restarted API process, or another of `topup serve --workers N`: the move is
    taken up at start-up, before its first request."""
    moved = await client.post("/v1/sandbox/clock", json={"advance_seconds": 86400})
    offset = moved.json()["offset_seconds"]
    clock.reset()  # the process that moved it is gone; a new one starts on the old time
    async with serve(settings, build_runtime(settings, engine)) as second:
        assert clock.offset_seconds() == offset
        assert (await second.get("/healthz")).status_code == 200


async def test_a_running_api_process_follows_a_move_made_in_another(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, runtime: Runtime
) -> None:
    monkeypatch.setattr(sandbox_clock, "FOLLOW_INTERVAL_SECONDS", FOLLOWING)
    async with serve(settings, runtime):
        assert clock.offset_seconds() == 0
        await until_the_clock_reads(await moved_elsewhere(runtime, 3600))
        await until_the_clock_reads(await moved_elsewhere(runtime, 7200))


async def test_production_never_reads_the_sandbox_clock(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: AsyncEngine, runtime: Runtime
) -> None:
    monkeypatch.setattr(sandbox_clock, "FOLLOW_INTERVAL_SECONDS", FOLLOWING)
    await moved_elsewhere(runtime, 86400)
    prod = production(settings)
    async with serve(prod, build_runtime(prod, engine)) as http:
        assert (await http.get("/healthz")).status_code == 200
        await asyncio.sleep(20 * FOLLOWING)  # many reads, had it been following
        assert clock.offset_seconds() == 0


async def test_the_clock_never_goes_back(client: httpx.AsyncClient) -> None:
    for seconds in (0, -5, 10**9):
        refused = await client.post("/v1/sandbox/clock", json={"advance_seconds": seconds})
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "advance_seconds"
