"""The simulator ends a delivered plan's bundle once: a second call, or two at once, answer
the moment the first recorded; anything but a delivered plan cannot be ended. Both
databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from topup.catalogue.snapshot import CatalogueCache
from topup.kit import clock
from topup.kit.db import create_session_factory
from topup.providers.suppliers.base import SupplierUnavailable, TopupRequest
from topup.providers.suppliers.simulator import SupplierSimulator
from topup.providers.suppliers.simulator_models import SimulatedEndedPlan


@pytest.fixture
def simulator(empty_engine: AsyncEngine) -> SupplierSimulator:
    factory = create_session_factory(empty_engine)
    return SupplierSimulator(CatalogueCache(factory, ttl=0), factory, secret_key="k" * 40)


def a_request(product_type: str, ending: str = "4567") -> TopupRequest:
    return TopupRequest(
        reference="ord_plan",
        e164=f"+234803123{ending}",
        operator_id="ng-mtn",
        amount=250_000,
        currency="NGN",
        product_type=product_type,
    )


async def test_ending_a_plan_again_answers_the_first_moment(
    simulator: SupplierSimulator, empty_engine: AsyncEngine
) -> None:
    await simulator.send_topup(a_request("plan"))
    first = await simulator.end_plan("ord_plan")
    clock.advance(3600)
    again = await simulator.end_plan("ord_plan")
    racing = await asyncio.gather(*(simulator.end_plan("ord_plan") for _ in range(3)))

    assert again == first
    assert set(racing) == {first}
    async with create_session_factory(empty_engine)() as session:
        assert await session.scalar(select(func.count()).select_from(SimulatedEndedPlan)) == 1


async def test_two_first_calls_at_once_record_one_moment(simulator: SupplierSimulator) -> None:
    await simulator.send_topup(a_request("plan"))
    answers = await asyncio.gather(*(simulator.end_plan("ord_plan") for _ in range(4)))
    assert len(set(answers)) == 1


@pytest.mark.parametrize(("product_type", "ending"), [("topup", "4567"), ("plan", "0001")])
async def test_only_a_delivered_plan_can_be_ended(
    simulator: SupplierSimulator, product_type: str, ending: str
) -> None:
    await simulator.send_topup(a_request(product_type, ending))
    with pytest.raises(SupplierUnavailable):
        await simulator.end_plan("ord_plan")
    with pytest.raises(SupplierUnavailable):
        await simulator.end_plan("ord_never_sent")
