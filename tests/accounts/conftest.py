"""Fixtures of the accounts tests.

The shared ``runtime`` keeps its rate-limit counters in memory where no test can reach
them. Here it counts in a storage the test holds, so a test can let a window pass (the
limits run on the wall clock, which ``topup.kit.clock.advance`` does not move) and can
speak to the app from several client addresses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.transport import SettlingTransport
from topup.app import create_app
from topup.config import Settings
from topup.kit.ratelimit import Limit, RateLimiter
from topup.runtime import Runtime, build_runtime


@dataclasses.dataclass(frozen=True)
class RateLimits:
    """The counters of this test's runtime."""

    storage: MemoryStorage

    async def let_pass(self, limit: Limit, *keys: str) -> None:
        """As if ``limit``'s window had gone by for ``keys``; every other counter stays."""
        await MovingWindowRateLimiter(self.storage).clear(limit.item, limit.name, *keys)

    async def clear(self) -> None:
        await self.storage.reset()


@pytest.fixture
def rate_limits() -> RateLimits:
    return RateLimits(MemoryStorage())


@pytest.fixture
def runtime(settings: Settings, engine: AsyncEngine, rate_limits: RateLimits) -> Runtime:
    """The shared fixture's runtime, counting its rate limits in ``rate_limits``."""
    built = build_runtime(settings, engine)
    limiter = RateLimiter(rate_limits.storage)
    return dataclasses.replace(
        built, limiter=limiter, accounts=dataclasses.replace(built.accounts, limiter=limiter)
    )


ClientAt = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def client_at(settings: Settings, runtime: Runtime) -> AsyncIterator[ClientAt]:
    """Clients on the same app (and runtime) as ``client``, each from its own IP address."""
    app = create_app(settings, runtime)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))

        def at(ip: str) -> httpx.AsyncClient:
            transport = SettlingTransport(runtime, app=app, client=(ip, 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://topup.test")
            stack.push_async_callback(http.aclose)
            return http

        yield at
