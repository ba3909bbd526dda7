"""The idempotency-key protocol (DESIGN.md §5) on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tests.idempotency.conftest import Factory
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.idempotency import service as keys
from topup.idempotency.models import IdempotencyKey, KeyState
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import Conflict, InvalidInput

SCOPE = "POST /v1/orders"
SECRET = "a-test-secret-key"
BODY = {"recipient_phone": "+2348031234567", "product_id": "ng-mtn-2500"}
PRINT = keys.fingerprint(SCOPE, BODY, secret=SECRET)


async def claim(
    factory: Factory, key: str = "key-1", fingerprint: str = PRINT
) -> keys.Claim | keys.Replay:
    return await keys.claim(
        factory, customer_id="cus_ada", key=key, scope=SCOPE, request_fingerprint=fingerprint
    )


async def held(factory: Factory, fingerprint: str = PRINT) -> keys.Claim:
    """Claim the key, which must be free to take."""
    claimed = await claim(factory, fingerprint=fingerprint)
    assert isinstance(claimed, keys.Claim)
    return claimed


async def finish(factory: Factory, claimed: keys.Claim, order_id: str = "ord_1") -> None:
    async with unit_of_work(factory) as session:
        await keys.complete(
            session, claimed, status_code=201, body={"id": order_id, "status": "created"}
        )


async def test_the_first_request_claims_and_a_retry_replays_its_answer(factory: Factory) -> None:
    await finish(factory, await held(factory))
    replay = await claim(factory)
    assert replay == keys.Replay(201, {"id": "ord_1", "status": "created"})


async def test_the_same_key_with_another_body_is_refused(factory: Factory) -> None:
    await finish(factory, await held(factory))
    other = keys.fingerprint(SCOPE, BODY | {"product_id": "ng-mtn-10000"}, secret=SECRET)
    with pytest.raises(Conflict) as caught:
        await claim(factory, fingerprint=other)
    assert (caught.value.status_code, caught.value.code) == (409, "idempotency_key_reused")


async def test_a_key_still_in_flight_is_refused(factory: Factory) -> None:
    await held(factory)
    with pytest.raises(Conflict) as caught:
        await claim(factory)
    assert caught.value.code == "idempotency_key_in_use"


async def test_twenty_requests_at_once_let_exactly_one_through(factory: Factory) -> None:
    async def attempt() -> str:
        try:
            claimed = await claim(factory)
            return "claimed" if isinstance(claimed, keys.Claim) else "replayed"
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
    first = await held(factory)
    with pytest.raises(RuntimeError):
        await complete_then_die(factory, first)
    async with factory() as session:
        record = await session.get(IdempotencyKey, ("cus_ada", "key-1"))
        assert record is not None
        assert record.state == KeyState.in_flight
    with pytest.raises(Conflict):
        await claim(factory)
    clock.advance(keys.IN_FLIGHT_LOCK.total_seconds() + 1)
    await finish(factory, await held(factory))  # taken over
    assert await claim(factory) == keys.Replay(201, {"id": "ord_1", "status": "created"})


async def lose_the_lease(factory: Factory) -> tuple[keys.Claim, keys.Claim]:
    """The first request is still working when its lease lapses; a retry takes over."""
    first = await held(factory)
    clock.advance(keys.IN_FLIGHT_LOCK.total_seconds() + 1)
    retry = await held(factory)
    assert retry.token != first.token
    return first, retry


async def count_customers(factory: Factory) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def complete_with_work(factory: Factory, claimed: keys.Claim, order_id: str) -> None:
    """Work (a row, standing in for an order) and the stored answer in one unit of work."""
    async with unit_of_work(factory) as session:
        session.add(
            Customer(
                id=f"cus_{order_id}",
                status=CustomerStatus.active.value,
                role=Role.customer.value,
                language="en",
                created_at=clock.now(),
            )
        )
        await keys.complete(
            session, claimed, status_code=201, body={"id": order_id, "status": "created"}
        )


@pytest.mark.parametrize("stale_finishes", ["after the retry", "before the retry"])
async def test_a_holder_that_lost_its_lease_cannot_complete_and_its_work_rolls_back(
    factory: Factory, stale_finishes: str
) -> None:
    """The race the chaos harness found: a slow first request and the retry that took its
    key over both reach complete(). Only the retry's work and answer may stand."""
    first, retry = await lose_the_lease(factory)
    before = await count_customers(factory)
    if stale_finishes == "after the retry":
        await complete_with_work(factory, retry, "ord_retry")
    with pytest.raises(Conflict) as caught:
        await complete_with_work(factory, first, "ord_first")
    assert (caught.value.status_code, caught.value.code) == (409, "idempotency_key_in_use")
    if stale_finishes == "before the retry":
        await complete_with_work(factory, retry, "ord_retry")
    assert await count_customers(factory) == before + 1  # the retry's work, only
    async with factory() as session:
        assert await session.get(Customer, "cus_ord_first") is None
    assert await claim(factory) == keys.Replay(201, {"id": "ord_retry", "status": "created"})


async def test_a_holder_that_lost_its_lease_cannot_release_the_retrys_key(
    factory: Factory,
) -> None:
    first, retry = await lose_the_lease(factory)
    await keys.release(factory, first)  # refused late: must not free the retry's key
    with pytest.raises(Conflict):
        await claim(factory)
    await finish(factory, retry, "ord_retry")
    assert await claim(factory) == keys.Replay(201, {"id": "ord_retry", "status": "created"})


async def test_a_retry_takes_a_crashed_requests_key_over_within_15_seconds(
    factory: Factory,
) -> None:
    """With the fence deciding who may complete, the lease is only how long a client waits
    on 409s after its request died with the API process: seconds, not a minute."""
    await held(factory)
    clock.advance(10)
    with pytest.raises(Conflict):
        await claim(factory)
    clock.advance(6)
    await held(factory)


async def test_a_released_key_can_carry_a_corrected_body(factory: Factory) -> None:
    await keys.release(factory, await held(factory))
    corrected = keys.fingerprint(SCOPE, BODY | {"product_id": "ng-mtn-10000"}, secret=SECRET)
    await held(factory, fingerprint=corrected)


async def test_keys_are_kept_72_hours_then_purged(factory: Factory) -> None:
    await finish(factory, await held(factory))
    clock.advance(72 * 3600 - 1)
    async with unit_of_work(factory) as session:
        assert await keys.purge_expired(session) == 0
    clock.advance(2)
    async with unit_of_work(factory) as session:
        assert await keys.purge_expired(session) == 1
    await held(factory)  # a new request under the old key


async def complete_then_die(factory: Factory, claimed: keys.Claim) -> None:
    async with unit_of_work(factory) as session:
        await keys.complete(session, claimed, status_code=201, body={"id": "ord_1"})
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
