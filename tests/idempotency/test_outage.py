"""Giving an Idempotency-Key back after a database failure (service.released_on_outage):
at once when the database answers, in the background when it does not, and never a
claim some later request took. On both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.db_faults import ConnectionDropper
from tests.idempotency.conftest import Factory
from tests.idempotency.test_service import claim
from topup.idempotency import service as keys
from topup.kit import clock
from topup.kit.detached import Detached
from topup.kit.errors import Conflict


def failure() -> OperationalError:
    return OperationalError("COMMIT", {}, ConnectionResetError("connection reset by peer"))


@pytest.fixture
async def dropper(empty_engine: AsyncEngine) -> AsyncIterator[ConnectionDropper]:
    made = ConnectionDropper(empty_engine)
    yield made
    await made.close()


async def fail_under_key(factory: Factory, detached: Detached) -> None:
    with pytest.raises(OperationalError):
        async with keys.released_on_outage(factory, detached, customer_id="cus_ada", key="key-1"):
            raise failure()


async def test_a_database_failure_gives_the_key_back_at_once(factory: Factory) -> None:
    assert await claim(factory) is None

    await fail_under_key(factory, Detached())

    assert await claim(factory) is None  # the retry takes the key, not 409 in use


async def test_a_release_the_database_refused_is_tried_again_until_it_works(
    factory: Factory, dropper: ConnectionDropper
) -> None:
    assert await claim(factory) is None
    detached = Detached()
    dropper.arm("^DELETE FROM idempotency_keys")  # the first release meets the outage

    await fail_under_key(factory, detached)
    with pytest.raises(Conflict):
        await claim(factory)  # still held: the release failed
    await detached.settle()

    assert dropper.dropped
    assert await claim(factory) is None


async def test_a_late_release_leaves_the_claim_of_a_later_request_alone(factory: Factory) -> None:
    started = clock.now()
    assert await claim(factory) is None
    clock.advance(keys.IN_FLIGHT_LOCK.total_seconds() + 1)  # the first holder's lock lapsed
    assert await claim(factory) is None  # a retry took the key over

    await keys.release(
        factory, customer_id="cus_ada", key="key-1", locked_by=started + keys.IN_FLIGHT_LOCK
    )

    with pytest.raises(Conflict) as refused:
        await claim(factory)
    assert refused.value.code == "idempotency_key_in_use"
    assert refused.value.headers["Retry-After"] == "1"
