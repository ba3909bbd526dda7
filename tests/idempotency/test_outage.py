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


async def held(factory: Factory) -> keys.Claim:
    claimed = await claim(factory)
    assert isinstance(claimed, keys.Claim)
    return claimed


async def fail_under_key(factory: Factory, detached: Detached, claimed: keys.Claim) -> None:
    with pytest.raises(OperationalError):
        async with keys.released_on_outage(factory, detached, claimed):
            raise failure()


async def test_a_database_failure_gives_the_key_back_at_once(factory: Factory) -> None:
    claimed = await held(factory)

    await fail_under_key(factory, Detached(), claimed)

    await held(factory)  # the retry takes the key, not 409 in use


async def test_a_release_the_database_refused_is_tried_again_until_it_works(
    factory: Factory, dropper: ConnectionDropper
) -> None:
    claimed = await held(factory)
    detached = Detached()
    dropper.arm("^DELETE FROM idempotency_keys")  # the first release meets the outage

    await fail_under_key(factory, detached, claimed)
    with pytest.raises(Conflict):
        await claim(factory)  # still held: the release failed
    await detached.settle()

    assert dropper.dropped
    await held(factory)


async def test_a_late_release_leaves_the_claim_of_a_later_request_alone(factory: Factory) -> None:
    first = await held(factory)
    clock.advance(keys.IN_FLIGHT_LOCK.total_seconds() + 1)  # the first holder's lease lapsed
    await held(factory)  # a retry took the key over

    await keys.release_when_back(factory, first, seconds=2, every_seconds=0)

    with pytest.raises(Conflict) as refused:
        await claim(factory)
    assert refused.value.code == "idempotency_key_in_use"
    assert refused.value.headers["Retry-After"] == "1"
