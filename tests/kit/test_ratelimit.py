"""Rate limits on both storages: in memory (one node) and in the real Redis (shared)."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from coredis.exceptions import ConnectionError as RedisConnectionError
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from sqlalchemy.ext.asyncio import AsyncEngine

from topup.app import create_app
from topup.config import Settings
from topup.kit.errors import ServiceUnavailable, TooManyRequests
from topup.kit.ratelimit import Limit, RateLimiter, create_storage
from topup.runtime import build_runtime

THREE_A_MINUTE = Limit("x", "3/minute")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(params=["memory", "redis"])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` for the in-memory storage, else the test Redis (counters reset around)."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def limiter(storage_url: str | None) -> RateLimiter:
    return RateLimiter(create_storage(storage_url))


def unique_key() -> str:
    return f"key-{secrets.token_hex(6)}"


async def hit_times(limiter: RateLimiter, limit: Limit, key: str, times: int) -> None:
    for _ in range(times):
        await limiter.hit(limit, key)


async def refusal(
    limiter: RateLimiter, limit: Limit, *keys: str, message: str | None = None
) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as raised:
        await limiter.hit(limit, *keys, message=message)
    return raised.value


async def test_the_limit_lets_three_through_and_refuses_the_fourth(limiter: RateLimiter) -> None:
    key = unique_key()

    await hit_times(limiter, THREE_A_MINUTE, key, 3)
    error = await refusal(limiter, THREE_A_MINUTE, key)

    assert error.status_code == 429
    assert error.code == "rate_limited"
    assert error.message == "Too many attempts; wait a little and try again."
    assert set(error.headers) == {"Retry-After"}
    retry_after = error.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    assert error.body() == {"error": {"code": "rate_limited", "message": error.message}}


async def test_a_refused_attempt_stays_refused(limiter: RateLimiter) -> None:
    key = unique_key()
    await hit_times(limiter, THREE_A_MINUTE, key, 3)

    await refusal(limiter, THREE_A_MINUTE, key)
    await refusal(limiter, THREE_A_MINUTE, key)


async def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    spent, other = unique_key(), unique_key()
    await hit_times(limiter, THREE_A_MINUTE, spent, 3)
    await refusal(limiter, THREE_A_MINUTE, spent)

    await hit_times(limiter, THREE_A_MINUTE, other, 3)

    await refusal(limiter, THREE_A_MINUTE, other)


async def test_limits_of_different_names_are_counted_apart(limiter: RateLimiter) -> None:
    key = unique_key()
    other_limit = Limit("y", "3/minute")
    await hit_times(limiter, THREE_A_MINUTE, key, 3)
    await refusal(limiter, THREE_A_MINUTE, key)

    await hit_times(limiter, other_limit, key, 3)

    await refusal(limiter, other_limit, key)


async def test_every_key_part_counts(limiter: RateLimiter) -> None:
    prefix = unique_key()
    for _ in range(3):
        await limiter.hit(THREE_A_MINUTE, prefix, "a")
    await refusal(limiter, THREE_A_MINUTE, prefix, "a")

    await limiter.hit(THREE_A_MINUTE, prefix, "b")


async def test_a_custom_message_is_used(limiter: RateLimiter) -> None:
    key = unique_key()
    await hit_times(limiter, THREE_A_MINUTE, key, 3)

    error = await refusal(limiter, THREE_A_MINUTE, key, message="Slow down, please.")

    assert error.message == "Slow down, please."
    assert error.code == "rate_limited"
    assert error.headers["Retry-After"].isdigit()


async def test_a_limit_of_one_refuses_the_second_attempt(limiter: RateLimiter) -> None:
    once = Limit("once", "1/minute")
    key = unique_key()

    await limiter.hit(once, key)

    await refusal(limiter, once, key)


async def test_the_storage_is_healthy(limiter: RateLimiter) -> None:
    assert await limiter.healthy() is True


def test_create_storage_without_a_url_is_in_memory() -> None:
    assert isinstance(create_storage(None), MemoryStorage)


async def test_two_memory_limiters_count_apart() -> None:
    """In memory, every process counts alone: what Redis is there to fix."""
    key = unique_key()
    first, second = RateLimiter(create_storage(None)), RateLimiter(create_storage(None))
    await hit_times(first, THREE_A_MINUTE, key, 3)

    await hit_times(second, THREE_A_MINUTE, key, 3)

    await refusal(first, THREE_A_MINUTE, key)


async def test_two_redis_limiters_share_the_count(redis_url: str) -> None:
    """Two processes' worth of limiters, each with its own connection, count together."""
    key = unique_key()
    first, second = RateLimiter(create_storage(redis_url)), RateLimiter(create_storage(redis_url))

    await hit_times(first, THREE_A_MINUTE, key, 2)
    await second.hit(THREE_A_MINUTE, key)

    await refusal(first, THREE_A_MINUTE, key)
    await refusal(second, THREE_A_MINUTE, key)


@pytest.mark.parametrize("scheme", ["redis://", "async+redis://"])
async def test_create_storage_takes_both_redis_schemes(redis_url: str, scheme: str) -> None:
    assert redis_url.startswith("redis://")
    storage = create_storage(scheme + redis_url.removeprefix("redis://"))

    assert isinstance(storage, RedisStorage)
    assert await storage.check() is True


async def test_both_redis_schemes_reach_the_same_counters(redis_url: str) -> None:
    key = unique_key()
    plain = RateLimiter(create_storage(redis_url))
    explicit = RateLimiter(create_storage("async+" + redis_url))

    await hit_times(plain, THREE_A_MINUTE, key, 3)

    await refusal(explicit, THREE_A_MINUTE, key)


async def test_an_unreachable_redis_is_not_healthy() -> None:
    storage: Storage = create_storage(UNREACHABLE_REDIS)
    limiter = RateLimiter(storage)

    async with asyncio.timeout(10):
        healthy = await limiter.healthy()

    assert healthy is False


async def test_a_hit_on_an_unreachable_redis_fails_closed() -> None:
    """No silent pass: an attempt that cannot be counted is refused as a retryable 503,
    with the connection error kept as its cause."""
    limiter = RateLimiter(create_storage(UNREACHABLE_REDIS))

    async with asyncio.timeout(10):
        with pytest.raises(ServiceUnavailable) as caught:
            await limiter.hit(THREE_A_MINUTE, unique_key())
    assert caught.value.status_code == 503
    assert isinstance(caught.value.__cause__, RedisConnectionError)


async def test_an_endpoint_answers_503_when_redis_is_down(
    settings: Settings, engine: AsyncEngine
) -> None:
    unreachable = settings.model_copy(update={"redis_url": UNREACHABLE_REDIS})
    app = create_app(unreachable, build_runtime(unreachable, engine))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            async with asyncio.timeout(10):
                response = await http.post(
                    "/v1/auth/login",
                    json={"login": "nobody@example.com", "password": "whatever-it-is"},
                )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
