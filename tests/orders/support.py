"""What the recovery and model tests share: crashing wrappers, orders, the exactly-once check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.orders.conftest import FINAL
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.ids import new_id
from topup.ledger.checks import check_ledger
from topup.notifications.models import OutboundMessage
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


class _Wrapper:
    """Stands in for a gateway or supplier, passing every call through but one."""

    def __init__(self, inner: Any, point: str) -> None:
        self._inner = inner
        self._point = point
        self.crashed = False


class CrashBefore(_Wrapper):
    """Wraps the supplier: the process dies just before the named call goes out."""

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._inner, name)
        if name != self._point or self.crashed:
            return call

        async def crash(*args: Any, **kwargs: Any) -> Any:
            self.crashed = True
            raise Crash(f"before {name}")

        return crash


class CrashOnce(_Wrapper):
    """Wraps a gateway or supplier: the named call runs for real, then 'the process dies'."""

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


async def new_order(
    runtime: Runtime,
    phone: str,
    number: str = "4242424242424242",
    *,
    product_id: str = "ng-mtn-2500",
    buyer_id: str | None = None,
    confirm_duplicate: bool = False,
) -> str:
    """An order placed (``created``) with a new saved card: by a new customer, or by the
    customer ``buyer_id``."""
    async with unit_of_work(runtime.session_factory) as session:
        customer = await session.get(Customer, buyer_id) if buyer_id else None
        if customer is None:
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
            CardDetails(number, 12, clock.now().year + 1, "123"),
        )
        order = await place_order(
            session,
            snapshot=await runtime.catalogue.get(),
            number_lookup=runtime.number_lookup,
            gateway=runtime.payment_gateway,
            customer=customer,
            request=PlaceOrder(
                recipient_phone=phone,
                product_id=product_id,
                amount=None,
                amount_currency=None,
                card_id=card.id,
                new_card=None,
                message=None,
                confirm_duplicate=confirm_duplicate,
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
        # The recipient hears of a top-up once, and only of one that arrived.
        recipient_sms = await session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.dedupe_key == f"{order_id}:topup_received")
        )
        assert recipient_sms == (1 if delivered else 0)
        return order.status
