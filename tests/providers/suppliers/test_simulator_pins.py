"""The simulator's PIN products: a voucher or a calling card delivers a PIN that every
answer under the reference repeats, kept sealed in its table, and a calling card is used
up by the clock and by explicit spending, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from topup.catalogue.snapshot import CatalogueCache
from topup.kit import clock
from topup.kit.db import create_session_factory
from topup.providers.suppliers.base import (
    CardBalance,
    SupplierUnavailable,
    TopupRequest,
    TopupStatus,
)
from topup.providers.suppliers.simulator import (
    ACCESS_NUMBER,
    CardOverdrawn,
    SupplierSimulator,
)
from topup.providers.suppliers.simulator_models import SimulatedTopup

DAY = 24 * 3600


@pytest.fixture
def simulator(empty_engine: AsyncEngine) -> SupplierSimulator:
    factory = create_session_factory(empty_engine)
    return SupplierSimulator(CatalogueCache(factory, ttl=0), factory, secret_key="k" * 40)


def pin_request(
    product_type: str, ending: str = "4567", reference: str = "ord_pin"
) -> TopupRequest:
    return TopupRequest(
        reference=reference,
        e164=f"+234803123{ending}",
        operator_id="ng-mtn",
        amount=200_000,
        currency="NGN",
        product_type=product_type,
    )


@pytest.mark.parametrize("product_type", ["voucher", "calling_card"])
async def test_a_repeated_send_and_the_status_return_the_same_pin(
    simulator: SupplierSimulator, product_type: str
) -> None:
    sent = await simulator.send_topup(pin_request(product_type))
    again = await simulator.send_topup(pin_request(product_type))
    checked = await simulator.status("ord_pin")

    assert sent.status is TopupStatus.succeeded
    assert sent.pin is not None
    assert len(sent.pin.code) == 16
    assert sent.pin.code.isdigit()
    assert again.pin == sent.pin == checked.pin
    assert sent.pin.code not in repr(sent)
    assert sent.pin.serial not in repr(sent)
    other = await simulator.send_topup(pin_request(product_type, reference="ord_other"))
    assert other.pin is not None
    assert other.pin.code != sent.pin.code


async def test_a_calling_card_comes_with_its_balance_and_access_number(
    simulator: SupplierSimulator,
) -> None:
    sent = await simulator.send_topup(pin_request("calling_card"))
    voucher = await simulator.send_topup(pin_request("voucher", reference="ord_voucher"))

    assert sent.pin is not None
    assert voucher.pin is not None
    assert (sent.pin.balance, sent.pin.currency) == (200_000, "NGN")
    assert sent.pin.access_number == ACCESS_NUMBER
    assert (voucher.pin.balance, voucher.pin.access_number) == (None, None)


async def test_a_pending_pin_order_gets_its_pin_from_the_status_check(
    simulator: SupplierSimulator,
) -> None:
    sent = await simulator.send_topup(pin_request("voucher", ending="0002"))
    assert (sent.status, sent.pin) == (TopupStatus.pending, None)

    checked = await simulator.status("ord_pin")
    again = await simulator.status("ord_pin")

    assert checked.status is TopupStatus.succeeded
    assert checked.pin is not None
    assert again.pin == checked.pin


async def test_a_failed_or_airtime_top_up_carries_no_pin(simulator: SupplierSimulator) -> None:
    failed = await simulator.send_topup(pin_request("voucher", ending="0001"))
    airtime = await simulator.send_topup(pin_request("topup", reference="ord_airtime"))
    assert (failed.status, failed.pin) == (TopupStatus.failed, None)
    assert (airtime.status, airtime.pin) == (TopupStatus.succeeded, None)


async def test_the_simulator_keeps_its_pins_sealed(
    simulator: SupplierSimulator, empty_engine: AsyncEngine
) -> None:
    sent = await simulator.send_topup(pin_request("voucher"))
    assert sent.pin is not None
    async with create_session_factory(empty_engine)() as session:
        row = (await session.execute(select(SimulatedTopup.__table__))).one()
    stored = b"".join(value for value in row if isinstance(value, bytes))
    assert stored
    assert sent.pin.code.encode() not in stored
    assert sent.pin.serial.encode() not in stored


async def test_a_calling_card_loses_a_tenth_a_day_and_never_goes_below_zero(
    simulator: SupplierSimulator,
) -> None:
    await simulator.send_topup(pin_request("calling_card"))
    assert await simulator.card_balance("ord_pin") == CardBalance(200_000, 200_000, "NGN")

    clock.advance(DAY - 1)  # a day not yet over uses nothing
    assert (await simulator.card_balance("ord_pin")).remaining == 200_000
    clock.advance(1)
    assert (await simulator.card_balance("ord_pin")).remaining == 180_000
    clock.advance(5 * DAY)
    assert (await simulator.card_balance("ord_pin")).remaining == 80_000
    clock.advance(30 * DAY)
    assert (await simulator.card_balance("ord_pin")).remaining == 0


async def test_spending_from_a_card_lowers_it_and_more_than_is_left_is_refused(
    simulator: SupplierSimulator,
) -> None:
    await simulator.send_topup(pin_request("calling_card"))

    after = await simulator.use_card("ord_pin", 150_000)

    assert after == CardBalance(50_000, 200_000, "NGN")
    with pytest.raises(CardOverdrawn):
        await simulator.use_card("ord_pin", 50_001)
    assert (await simulator.card_balance("ord_pin")).remaining == 50_000


async def test_only_a_delivered_calling_card_has_a_balance(simulator: SupplierSimulator) -> None:
    await simulator.send_topup(pin_request("voucher"))
    await simulator.send_topup(pin_request("calling_card", "0004", reference="ord_pending"))
    for reference in ("ord_pin", "ord_pending", "ord_unknown"):
        with pytest.raises(SupplierUnavailable):
            await simulator.card_balance(reference)
