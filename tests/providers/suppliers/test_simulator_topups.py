"""The supplier simulator's top-ups follow the sandbox table of DESIGN.md §6, on both
databases, and never deliver twice for one reference."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from topup.catalogue.snapshot import CatalogueCache
from topup.kit.db import create_session_factory
from topup.providers.suppliers.base import (
    SupplierUnavailable,
    TopupRequest,
    TopupStatus,
)
from topup.providers.suppliers.simulator import SupplierSimulator
from topup.providers.suppliers.simulator_models import SimulatedTopup


@pytest.fixture
def simulator(empty_engine: AsyncEngine) -> SupplierSimulator:
    factory = create_session_factory(empty_engine)
    return SupplierSimulator(CatalogueCache(factory, ttl=0), factory)


def request_for(ending: str, reference: str = "ord_1-topup") -> TopupRequest:
    return TopupRequest(
        reference=reference,
        e164=f"+234803123{ending}",
        operator_id="ng-mtn",
        amount=100_000,
        currency="NGN",
    )


async def deliveries(empty_engine: AsyncEngine) -> int:
    async with create_session_factory(empty_engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(SimulatedTopup)) or 0)


@pytest.mark.parametrize(
    ("ending", "at_send", "at_first_check", "at_second_check"),
    [
        ("4567", TopupStatus.succeeded, TopupStatus.succeeded, TopupStatus.succeeded),
        ("0001", TopupStatus.failed, TopupStatus.failed, TopupStatus.failed),
        ("0002", TopupStatus.pending, TopupStatus.succeeded, TopupStatus.succeeded),
        ("0003", TopupStatus.pending, TopupStatus.failed, TopupStatus.failed),
        ("0004", TopupStatus.pending, TopupStatus.pending, TopupStatus.pending),
    ],
)
async def test_outcomes_follow_the_last_four_digits(
    simulator: SupplierSimulator,
    ending: str,
    at_send: TopupStatus,
    at_first_check: TopupStatus,
    at_second_check: TopupStatus,
) -> None:
    sent = await simulator.send_topup(request_for(ending))
    assert sent.status is at_send
    assert sent.supplier_transaction_id is not None
    assert (sent.failure_code == "operator_rejected") is (at_send is TopupStatus.failed)
    assert (await simulator.status("ord_1-topup")).status is at_first_check
    assert (await simulator.status("ord_1-topup")).status is at_second_check


async def test_a_timed_out_send_did_deliver_and_the_status_says_so(
    simulator: SupplierSimulator, empty_engine: AsyncEngine
) -> None:
    with pytest.raises(SupplierUnavailable):
        await simulator.send_topup(request_for("0005"))
    assert (await simulator.status("ord_1-topup")).status is TopupStatus.succeeded
    # Sending again with the same reference answers the first top-up: nothing new is sent.
    again = await simulator.send_topup(request_for("0005"))
    assert again.status is TopupStatus.succeeded
    assert await deliveries(empty_engine) == 1


async def test_an_unknown_reference_is_not_found(simulator: SupplierSimulator) -> None:
    assert (await simulator.status("never-sent")).status is TopupStatus.not_found


async def test_one_reference_is_one_delivery_even_when_sent_at_once(
    simulator: SupplierSimulator, empty_engine: AsyncEngine
) -> None:
    results = await asyncio.gather(*(simulator.send_topup(request_for("4567")) for _ in range(10)))
    assert {result.supplier_transaction_id for result in results} == {
        results[0].supplier_transaction_id
    }
    assert await deliveries(empty_engine) == 1


async def test_different_references_are_different_top_ups(
    simulator: SupplierSimulator, empty_engine: AsyncEngine
) -> None:
    first = await simulator.send_topup(request_for("4567", "ord_1-topup"))
    second = await simulator.send_topup(request_for("4567", "ord_2-topup"))
    assert first.supplier_transaction_id != second.supplier_transaction_id
    assert await deliveries(empty_engine) == 2


async def test_top_up_calls_and_lookups_wait_each_their_own_latency(
    empty_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real supplier names a number's operator far sooner than it delivers a top-up; the
    # benchmark's 2 s top-ups must not slow every number lookup by 2 s too.
    waits: list[float] = []

    async def note(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("topup.providers.suppliers.simulator.asyncio.sleep", note)
    factory = create_session_factory(empty_engine)
    simulator = SupplierSimulator(
        CatalogueCache(factory, ttl=0), factory, latency_ms=2000, lookup_latency_ms=150
    )

    await simulator.lookup("+2348031234567")
    assert waits == [0.15]
    await simulator.send_topup(request_for("4567"))
    await simulator.status("ord_1-topup")
    assert waits == [0.15, 2.0, 2.0]
