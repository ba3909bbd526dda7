"""Crashes at every step, and workers racing: each order ends once, captured iff delivered,
never delivered or charged twice, and the ledger check stays clean. On both databases."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.orders.conftest import FINAL
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.ledger.checks import check_ledger
from topup.orders import ledger_entries
from topup.orders.lifecycle import OrderDeps, advance
from topup.orders.models import Order
from topup.orders.service import PlaceOrder, place_order
from topup.orders.tasks import LEASE, run_due
from topup.payments.service import save_card
from topup.providers.payments.base import CardDetails
from topup.providers.payments.sandbox_models import SandboxPayment
from topup.providers.suppliers.simulator_models import SimulatedTopup
from topup.runtime import Runtime


class Crash(Exception):
    """The process dies right after the wrapped call did its work."""


class CrashBefore:
    """Wraps the supplier: the process dies just before the named call goes out."""

    def __init__(self, inner: Any, point: str) -> None:
        self._inner = inner
        self._point = point
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._inner, name)
        if name != self._point or self.crashed:
            return call

        async def crash(*args: Any, **kwargs: Any) -> Any:
            self.crashed = True
            raise Crash(f"before {name}")

        return crash


class CrashOnce:
    """Wraps a gateway or supplier: the named call runs for real, then 'the process dies'."""

    def __init__(self, inner: Any, point: str) -> None:
        self._inner = inner
        self._point = point
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._inner, name)
        if name != self._point:
            return call

        async def then_crash(*args: Any, **kwargs: Any) -> Any:
            result = await call(*args, **kwargs)
            if not self.crashed:
                self.crashed = True
                raise Crash(name)
            return result

        return then_crash


async def new_order(runtime: Runtime, phone: str) -> str:
    async with unit_of_work(runtime.session_factory) as session:
        customer = Customer(
            id=new_id("cus"),
            status=CustomerStatus.active.value,
            role=Role.customer.value,
            language="en",
            created_at=clock.now(),
            phone_verified_at=clock.now(),
        )
        session.add(customer)
        await session.flush()
        card = await save_card(
            session,
            runtime.payment_gateway,
            customer,
            CardDetails("4242424242424242", 12, clock.now().year + 1, "123"),
        )
        order = await place_order(
            session,
            snapshot=await runtime.catalogue.get(),
            number_lookup=runtime.number_lookup,
            gateway=runtime.payment_gateway,
            customer=customer,
            request=PlaceOrder(
                recipient_phone=phone,
                product_id="ng-mtn-2500",
                amount=None,
                amount_currency=None,
                card_id=card.id,
                new_card=None,
                message=None,
            ),
        )
        return order.id


async def run_to_the_end(runtime: Runtime, deps: OrderDeps, order_id: str) -> None:
    """Step with the crashing dependencies until they crash, then let a fresh worker (with
    sound ones) finish after the lease runs out, as a restarted process would."""
    for _ in range(10):
        try:
            await advance(deps, order_id)
        except Crash:
            break
        clock.advance(60)  # past any poll delay
    for _ in range(10):
        clock.advance(LEASE.total_seconds() + 1)
        await run_due(runtime.order_deps())


async def assert_exactly_once(runtime: Runtime, order_id: str) -> str:
    async with runtime.session_factory() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        assert order.status in FINAL
        deliveries = await session.scalar(
            select(func.count())
            .select_from(SimulatedTopup)
            .where(SimulatedTopup.reference == order_id)
        )
        payments = (
            await session.scalars(
                select(SandboxPayment).where(
                    SandboxPayment.idempotency_key == f"{order_id}:authorize"
                )
            )
        ).all()
        assert deliveries is not None
        assert deliveries <= 1
        assert len(payments) == 1  # one hold on the card, whatever was retried
        topup = await session.get(SimulatedTopup, order_id)
        delivered = topup is not None and topup.status == "succeeded"
        assert (payments[0].status == "captured") is delivered
        assert (order.status == "succeeded") is delivered
        assert [str(breach) for breach in await check_ledger(session)] == []
        return order.status


# Each scenario with every remote call it makes; a crash follows each call in turn.
SCENARIOS = {
    "+2348031234567": ("succeeded", ["authorize", "send_topup", "capture"]),
    "+2348031230001": ("failed", ["authorize", "send_topup", "void"]),
    "+2348031230002": ("succeeded", ["authorize", "send_topup", "status", "capture"]),
    "+2348031230003": ("failed", ["authorize", "send_topup", "status", "void"]),
    "+2348031230005": ("succeeded", ["authorize", "status", "capture"]),
}
CASES = [
    (phone, point, outcome) for phone, (outcome, points) in SCENARIOS.items() for point in points
]
GATEWAY_CALLS = {"authorize", "capture", "void"}


@pytest.mark.parametrize(
    ("phone", "point", "outcome"), CASES, ids=[f"{phone[-4:]}-{point}" for phone, point, _ in CASES]
)
async def test_a_crash_after_any_remote_call_changes_nothing_in_the_end(
    runtime: Runtime, phone: str, point: str, outcome: str
) -> None:
    order_id = await new_order(runtime, phone)
    base = runtime.order_deps()
    if point in GATEWAY_CALLS:
        crashing = CrashOnce(base.gateway, point)
        deps = replace(base, gateway=crashing)
    else:
        crashing = CrashOnce(base.supplier, point)
        deps = replace(base, supplier=crashing)
    await run_to_the_end(runtime, deps, order_id)
    assert crashing.crashed  # the crash really happened where it was meant to
    assert await assert_exactly_once(runtime, order_id) == outcome


@pytest.mark.parametrize("phone", ["+2348031234567", "+2348031230001"])
async def test_a_crash_between_marking_submitted_and_sending_sends_once(
    runtime: Runtime, phone: str
) -> None:
    """The order is marked submitted, then the process dies before the top-up goes out:
    the poll finds nothing at the supplier and sends it then, once."""
    order_id = await new_order(runtime, phone)
    base = runtime.order_deps()
    await advance(base, order_id)  # authorized
    crashing = CrashBefore(base.supplier, "send_topup")
    await run_to_the_end(runtime, replace(base, supplier=crashing), order_id)
    assert crashing.crashed
    await assert_exactly_once(runtime, order_id)


@pytest.mark.parametrize("entry", ["hold", "capture", "release"])
async def test_a_crash_while_writing_the_ledger_rolls_the_step_back(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    phone = "+2348031230001" if entry == "release" else "+2348031234567"
    order_id = await new_order(runtime, phone)
    real = getattr(ledger_entries, entry)
    crashed = False

    async def write_then_crash(*args: Any, **kwargs: Any) -> Any:
        nonlocal crashed
        result = await real(*args, **kwargs)
        if not crashed:
            crashed = True
            raise Crash(entry)  # inside the step's transaction: nothing of it commits
        return result

    monkeypatch.setattr(ledger_entries, entry, write_then_crash)
    await run_to_the_end(runtime, runtime.order_deps(), order_id)
    assert crashed
    await assert_exactly_once(runtime, order_id)


async def test_two_workers_racing_handle_each_order_once(runtime: Runtime) -> None:
    endings = ["4567", "0001", "0002", "0003", "0005"] * 4
    order_ids = [await new_order(runtime, f"+234803123{ending}") for ending in endings]
    for _ in range(12):
        await asyncio.gather(run_due(runtime.order_deps()), run_due(runtime.order_deps()))
        clock.advance(LEASE.total_seconds() + 1)
    for order_id in order_ids:
        await assert_exactly_once(runtime, order_id)
