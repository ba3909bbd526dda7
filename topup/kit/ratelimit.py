"""Rate limits with the ``limits`` library: in memory by default, in Redis when shared.

One node keeps its counters in memory. Several nodes behind a load balancer must share
them, or an attacker simply spreads the attempts across nodes: set ``TOPUP_REDIS_URL``
and every node counts in the same Redis. A moving window is used because a fixed window
lets twice the limit through around the window's edge.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from topup.kit.errors import ServiceUnavailable, TooManyRequests

STORAGE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Limit:
    """A named limit such as ``Limit("login-account", "10/15 minutes")``."""

    name: str
    rate: str

    @property
    def item(self) -> RateLimitItem:
        return parse(self.rate)


def create_storage(redis_url: str | None) -> Storage:
    if redis_url is None:
        return MemoryStorage()
    # limits speaks to Redis asynchronously through its "async+" schemes.
    url = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    storage = storage_from_string(url)
    if not isinstance(storage, Storage):  # pragma: no cover - the scheme guarantees it
        raise TypeError(f"{url} is not an asynchronous limits storage")
    return storage


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)

    async def hit(self, limit: Limit, *keys: str, message: str | None = None) -> None:
        """Count one attempt; raise 429 with ``Retry-After`` once the limit is reached.

        When the counters cannot be reached the request is refused (503), never let
        through: a Redis outage must not switch brute-force protection off.
        """
        try:
            async with asyncio.timeout(STORAGE_TIMEOUT_SECONDS):
                if await self._strategy.hit(limit.item, limit.name, *keys):
                    return
                stats = await self._strategy.get_window_stats(limit.item, limit.name, *keys)
        except Exception as error:
            raise ServiceUnavailable(
                "Rate limits cannot be checked right now; try again in a moment."
            ) from error
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(
            message or "Too many attempts; wait a little and try again.",
            headers={"Retry-After": str(retry_after)},
        )

    async def healthy(self) -> bool:
        return bool(await self._storage.check())
