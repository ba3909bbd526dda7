"""The idempotency-key protocol (DESIGN.md §5) on both databases."""

from __future__ import annotations

import asyncio

import pytest

from tests.idempotency.conftest import Factory
from topup.idempotency import service as keys
from topup.idempotency.models import IdempotencyKey, KeyState
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import Conflict, InvalidInput

SCOPE = "POST /v1/orders"
SECRET = "a-test-secret-key"
BODY = {"recipient_phone": "+2348031234567", "product_id": "ng-mtn-2500"}
PRINT = keys.fingerprint(SCOPE, BODY, secret=SECRET)


async def claim(factory: Factory, key: str = "key-1", fingerprint: str = PRINT) -> object:
    return await keys.claim(
        factory, customer_id="cus_ada", key=key, scope=SCOPE, request_fingerprint=fingerprint
    )


async def finish(factory: Factory, key: str = "key-1") -> None:
    async with unit_of_work(factory) as session:
        await keys.complete(
            session,
            customer_id="cus_ada",
            key=key,
            status_code=201,
            body={"id": "ord_1", "status": "created"},
        )


async def test_the_first_request_claims_and_a_retry_replays_its_answer(factory: Factory) -> None:
    assert await claim(factory) is None
    await finish(factory)
    replay = await claim(factory)
    assert replay == keys.Replay(201, {"id": "ord_1", "status": "created"})


async def test_the_same_key_with_another_body_is_refused(factory: Factory) -> None:
    assert await claim(factory) is None
    await finish(factory)
    other = keys.fingerprint(SCOPE, BODY | {"product_id": "ng-mtn-10000"}, secret=SECRET)
    with pytest.raises(Conflict) as caught:
        await claim(factory, fingerprint=other)
    assert (caught.value.status_code, caught.value.code) == (409, "idempotency_key_reused")


async def test_a_key_still_in_flight_is_refused(factory: Factory) -> None:
    assert await claim(factory) is None
    with pytest.raises(Conflict) as caught:
        await claim(factory)
    assert caught.value.code == "idempotency_key_in_use"


async def test_twenty_requests_at_once_let_exactly_one_through(factory: Factory) -> None:
    async def attempt() -> str:
        try:
            return "claimed" if await claim(factory) is None else "replayed"
        except Conflict as conflict:
            return conflict.code

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))
    assert outcomes.count("claimed") == 1
    assert outcomes.count("idempotency_key_in_use") == 19


async def test_work_that_rolled_back_leaves_the_key_in_flight_then_takeable(
    factory: Factory,
) -> None:
    """A crash before the work committed: the stored answer never existed, and once the
    lock lapses a retry does the work (once)."""
    assert await claim(factory) is None
    with pytest.raises(RuntimeError):
        await complete_then_die(factory)
    async with factory() as session:
        record = await session.get(IdempotencyKey, ("cus_ada", "key-1"))
        assert record is not None
        assert record.state == KeyState.in_flight
    with pytest.raises(Conflict):
        await claim(factory)
    clock.advance(keys.IN_FLIGHT_LOCK.total_seconds() + 1)
    assert await claim(factory) is None  # taken over
    await finish(factory)
    assert await claim(factory) == keys.Replay(201, {"id": "ord_1", "status": "created"})


async def test_a_released_key_can_carry_a_corrected_body(factory: Factory) -> None:
    assert await claim(factory) is None
    await keys.release(factory, customer_id="cus_ada", key="key-1")
    corrected = keys.fingerprint(SCOPE, BODY | {"product_id": "ng-mtn-10000"}, secret=SECRET)
    assert await claim(factory, fingerprint=corrected) is None


async def test_keys_are_kept_72_hours_then_purged(factory: Factory) -> None:
    assert await claim(factory) is None
    await finish(factory)
    clock.advance(72 * 3600 - 1)
    async with unit_of_work(factory) as session:
        assert await keys.purge_expired(session) == 0
    clock.advance(2)
    async with unit_of_work(factory) as session:
        assert await keys.purge_expired(session) == 1
    assert await claim(factory) is None  # a new request under the old key


async def complete_then_die(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        await keys.complete(
            session, customer_id="cus_ada", key="key-1", status_code=201, body={"id": "ord_1"}
        )
        raise RuntimeError("the process died before the commit")


def test_the_fingerprint_ignores_key_order_but_not_values() -> None:
    def of(scope: str, body: dict[str, int], secret: str = SECRET) -> str:
        return keys.fingerprint(scope, body, secret=secret)

    assert of(SCOPE, {"a": 1, "b": 2}) == of(SCOPE, {"b": 2, "a": 1})
    assert of(SCOPE, {"a": 1}) != of(SCOPE, {"a": 2})
    assert of(SCOPE, {"a": 1}) != of("POST /v1/wallet/fund", {"a": 1})
    assert of(SCOPE, {"a": 1}) != of(SCOPE, {"a": 1}, secret="another key")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "idempotency_key_missing"),
        ("", "idempotency_key_missing"),
        ("k" * 256, "idempotency_key_invalid"),
        ("tab\there", "idempotency_key_invalid"),
        ("clé", "idempotency_key_invalid"),
    ],
)
def test_keys_are_1_to_255_printable_characters(raw: str | None, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        keys.checked_key(raw)
    assert (caught.value.code, caught.value.field) == (code, "Idempotency-Key")
    assert keys.checked_key("k" * 255) == "k" * 255
