"""The order lifecycle: ``created → authorized → submitted → (pending) → succeeded | failed``.

Each step reads the order, calls the gateway or the supplier with no transaction open (a
remote call must never hold database locks), then records the outcome in a transaction
that first checks the order is still where the step found it. Every remote call is safe to
repeat: authorization under a key derived from the order id, the top-up under the order id
as the supplier's reference, capture and void by nature. So a crash anywhere leaves the
order at its last recorded step, and running the step again does nothing twice. The named
``faults.checkpoint`` calls are where the crash tests (and the chaos harness) kill it.

An unknown outcome (a timeout, a 5xx) is never read as a failure: the order stays pending,
the hold stays, and the status poll decides. Once 24 hours pass without an answer the order
fails and the hold is released. A voucher's or calling card's "succeeded" without its PIN
is no delivery: it waits the same way, and fails (unpaid, support told) at 24 hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.kit import clock, faults
from topup.kit.db import unit_of_work
from topup.kit.money import Money
from topup.kit.sealing import Sealer
from topup.notifications import orders as order_messages
from topup.notifications import pins as pin_messages
from topup.orders import ledger_entries
from topup.orders.models import Order, OrderStatus, PaymentMethod, PaymentStatus
from topup.orders.repository import OrderRepository
from topup.pins import service as pins
from topup.promotions.service import settle_redemption
from topup.providers.payments.base import AuthorizationStatus, PaymentGateway, PaymentStateError
from topup.providers.suppliers.base import (
    PinDelivery,
    SupplierUnavailable,
    TopupRequest,
    TopupResult,
    TopupStatus,
    TopupSupplier,
)
from topup.risk import audit
from topup.risk.models import Outcome

# An order held for review waits at most this long for a decision (then it is rejected),
# which leaves the rest of its 24 hours for the supplier once it is approved.
REVIEW_LIMIT = timedelta(hours=20)
EXPIRED, REJECTED = "expired", "rejected"
# A PIN product the supplier called delivered but whose PIN never came within 24 hours.
PIN_NOT_DELIVERED = "pin_not_delivered"


def review_deadline(order: Order) -> datetime:
    return order.created_at + REVIEW_LIMIT


# Polling a pending top-up: quickly at first, then every few minutes.
POLL_DELAYS = (2, 5, 15, 30, 60, 120, 300)


@dataclass(frozen=True)
class OrderDeps:
    session_factory: async_sessionmaker[AsyncSession]
    gateway: PaymentGateway
    supplier: TopupSupplier
    gateway_name: str
    supplier_name: str
    pin_sealer: Sealer  # seals a voucher's or a calling card's PIN for order_pins


Step = Callable[[OrderDeps, Order], Awaitable[None]]


async def advance(deps: OrderDeps, order_id: str) -> str | None:
    """Run the order's next step; returns its status afterwards (None if unknown)."""
    after = await _step(deps, await _read(deps, order_id))
    return after.status if after else None


async def drive(deps: OrderDeps, order_id: str, *, max_steps: int = 6) -> str | None:
    """The fast path: move a fresh order on until it waits (pending) or ends. Each step
    starts from the order as the last one left it, read once between them."""
    order = await _read(deps, order_id)
    status = None
    for _ in range(max_steps):
        before = status
        order = await _step(deps, order)
        status = order.status if order else None
        if (
            status is None
            or status not in (OrderStatus.created, OrderStatus.authorized, OrderStatus.submitted)
            or status == before
        ):
            return status
    return status


async def _read(deps: OrderDeps, order_id: str) -> Order | None:
    async with deps.session_factory() as session:
        return await OrderRepository(session).order(order_id)


async def _step(deps: OrderDeps, order: Order | None) -> Order | None:
    """Run the order's next step; returns the order as it is afterwards."""
    if order is None:
        return None
    step = STEPS.get(OrderStatus(order.status))
    if step is not None:
        await step(deps, order)
    return await _read(deps, order.id)


async def _record(
    deps: OrderDeps,
    order: Order,
    expected: OrderStatus,
    change: Callable[[AsyncSession, Order], Awaitable[None]],
) -> None:
    """Apply ``change`` if the order is still at ``expected``; another worker may have
    moved it on meanwhile, and then this step's outcome is already recorded."""
    async with unit_of_work(deps.session_factory) as session:
        current = await OrderRepository(session).order(order.id, for_update=True)
        if current is None or current.status != expected:
            return
        await change(session, current)
        current.updated_at = clock.now()
        # Every end of an order is recorded here: a promo code's use is kept or given back
        # in the same transaction as the outcome.
        await settle_redemption(session, current)


# ---- created: authorize the card ---------------------------------------------------------


def _from_wallet(order: Order) -> bool:
    """Paid from the wallet: the hold was placed with the order, and no gateway is asked."""
    return order.payment_method == PaymentMethod.wallet


async def _authorize(deps: OrderDeps, order: Order) -> None:
    result = None
    if not _from_wallet(order):
        assert order.card_token is not None
        result = await deps.gateway.authorize(
            order.card_token,
            Money(order.price_amount, "EUR"),
            idempotency_key=f"{order.id}:authorize",
        )
        faults.checkpoint("order.authorized_at_gateway")

    async def change(session: AsyncSession, current: Order) -> None:
        if result is not None:
            current.gateway_reference = result.reference
            if result.status is AuthorizationStatus.declined:
                current.status = OrderStatus.declined.value
                current.payment_status = PaymentStatus.declined.value
                current.failure_code = result.decline_code
                return
            hold = await ledger_entries.hold(session, current, gateway=deps.gateway_name)
            current.hold_transfer_id = hold
            current.payment_status = PaymentStatus.authorized.value
        if current.risk_outcome == Outcome.review:
            # Held, not sent: a support user approves or rejects it; undecided by the
            # order's deadline, it is rejected and the hold released.
            current.status = OrderStatus.review.value
            current.due_at = review_deadline(current)
            await order_messages.order_in_review(
                session, current, decided_within=int(REVIEW_LIMIT.total_seconds() // 3600)
            )
            return
        current.status = OrderStatus.authorized.value
        current.due_at = clock.now()

    await _record(deps, order, OrderStatus.created, change)
    faults.checkpoint("order.authorized")


# ---- authorized / submitted / pending: deliver, then ask ------------------------------------


async def _submit(deps: OrderDeps, order: Order) -> None:
    # The recovery point comes first: after a crash past this line the order is polled,
    # and a repeated send under the same reference is one top-up at the supplier anyway.
    async def mark(session: AsyncSession, current: Order) -> None:
        current.status = OrderStatus.submitted.value
        current.due_at = clock.now() + timedelta(seconds=POLL_DELAYS[0])

    await _record(deps, order, OrderStatus.authorized, mark)
    faults.checkpoint("order.submitted")
    await _send(deps, order, OrderStatus.submitted)


async def _send(deps: OrderDeps, order: Order, expected: OrderStatus) -> None:
    assert order.recipient_phone is not None
    request = TopupRequest(
        reference=order.id,
        e164=order.recipient_phone,
        operator_id=order.operator_id,
        amount=order.local_amount,
        currency=order.local_currency,
        product_type=order.product_type,
    )
    try:
        result = await deps.supplier.send_topup(request)
        faults.checkpoint("order.sent")
    except SupplierUnavailable:
        result = TopupResult(TopupStatus.pending)
    await _settle(deps, order, expected, result)


async def _poll(deps: OrderDeps, order: Order) -> None:
    expected = OrderStatus(order.status)
    expired = clock.now() >= order.expires_at
    try:
        result = await deps.supplier.status(order.id)
    except SupplierUnavailable:
        result = TopupResult(TopupStatus.pending)
    # The supplier's answer comes first, even past 24 hours: a top-up it delivered is never
    # failed (a worker may have been down for a day and not asked in time).
    if result.status in (TopupStatus.succeeded, TopupStatus.failed):
        await _settle(deps, order, expected, result)
    elif expired:
        await _finish(deps, order, expected, succeeded=False, failure_code="supplier_timeout")
    elif result.status is TopupStatus.not_found:  # the send never reached the supplier
        await _send(deps, order, expected)
    else:
        await _wait(deps, order, expected, result.supplier_transaction_id)


async def _settle(
    deps: OrderDeps, order: Order, expected: OrderStatus, result: TopupResult
) -> None:
    if result.status is TopupStatus.succeeded and pins.pin_missing(order, result.pin):
        await _await_pin(deps, order, expected, result)
    elif result.status is TopupStatus.succeeded:
        await _finish(
            deps,
            order,
            expected,
            succeeded=True,
            supplier_transaction_id=result.supplier_transaction_id,
            pin=result.pin,
        )
    elif result.status is TopupStatus.failed:
        await _finish(
            deps,
            order,
            expected,
            succeeded=False,
            failure_code=result.failure_code or "topup_failed",
        )
    else:
        await _wait(deps, order, expected, result.supplier_transaction_id)


async def _await_pin(
    deps: OrderDeps, order: Order, expected: OrderStatus, result: TopupResult
) -> None:
    """A voucher or calling card reported delivered without its PIN: the PIN is what was
    sold, so nothing usable has reached the buyer yet. The order stays pending with its
    hold, and the status poll asks again under the same reference (a supplier repeats the
    PIN there). Once the order's 24 hours pass without one, it fails and the hold is
    released: capturing would charge for a PIN the customer can never see, and failing
    costs the customer nothing. The supplier may have charged us all the same, so support
    is told (log and audit log) to take it up with them."""
    if clock.now() < order.expires_at:
        await _wait(deps, order, expected, result.supplier_transaction_id)
        return
    await _finish(
        deps,
        order,
        expected,
        succeeded=False,
        failure_code=PIN_NOT_DELIVERED,
        supplier_transaction_id=result.supplier_transaction_id,
    )


async def _wait(
    deps: OrderDeps, order: Order, expected: OrderStatus, supplier_transaction_id: str | None
) -> None:
    async def change(session: AsyncSession, current: Order) -> None:
        delay = POLL_DELAYS[min(current.attempts, len(POLL_DELAYS) - 1)]
        current.attempts += 1
        current.status = OrderStatus.pending.value
        current.supplier_transaction_id = supplier_transaction_id or current.supplier_transaction_id
        current.due_at = min(clock.now() + timedelta(seconds=delay), current.expires_at)
        if clock.now() - current.created_at >= order_messages.DELAY_NOTICE_AFTER:
            await order_messages.order_delayed(session, current)

    await _record(deps, order, expected, change)


# ---- the end: capture what was delivered, release what was not -----------------------------


async def _finish(
    deps: OrderDeps,
    order: Order,
    expected: OrderStatus,
    *,
    succeeded: bool,
    failure_code: str | None = None,
    supplier_transaction_id: str | None = None,
    pin: PinDelivery | None = None,
) -> None:
    outcome = OrderStatus.succeeded if succeeded else OrderStatus.failed
    # Another worker may have settled the order on an earlier, contradicting answer: the
    # first final answer recorded wins, and the gateway is not asked to undo it.
    if await _settled_already(deps, order, expected, outcome):
        return
    if not _from_wallet(order):
        assert order.gateway_reference is not None
        try:
            if succeeded:
                await deps.gateway.capture(
                    order.gateway_reference, Money(order.price_amount, "EUR")
                )
            else:
                await deps.gateway.void(order.gateway_reference)
        except PaymentStateError:
            # The payment was settled the other way a moment ago, by a worker that has
            # not recorded it yet or just did: that worker's outcome stands.
            if await _settled_already(deps, order, expected, outcome):
                return
            raise
        faults.checkpoint("order.settled_at_gateway")

    async def change(session: AsyncSession, current: Order) -> None:
        if succeeded:
            await ledger_entries.capture(session, current, supplier=deps.supplier_name)
            current.status = OrderStatus.succeeded.value
            current.payment_status = PaymentStatus.captured.value
            current.supplier_transaction_id = (
                supplier_transaction_id or current.supplier_transaction_id
            )
            # The PIN is kept, and sent, with the success itself: never one without the other
            # (a PIN product reaches here only with its PIN, see _await_pin).
            kept = await pins.keep(session, deps.pin_sealer, current, pin)
            if kept is not None:
                await pin_messages.pin_delivered(session, current, kept)
            else:
                await order_messages.order_succeeded(session, current)
        else:
            await ledger_entries.release(session, current)
            current.status = OrderStatus.failed.value
            current.payment_status = PaymentStatus.voided.value
            current.failure_code = failure_code
            if failure_code == PIN_NOT_DELIVERED:
                current.supplier_transaction_id = (
                    supplier_transaction_id or current.supplier_transaction_id
                )
                pins.note_pin_never_delivered(session, current)
            await order_messages.order_failed(session, current)

    await _record(deps, order, expected, change)


async def _settled_already(
    deps: OrderDeps, order: Order, expected: OrderStatus, outcome: OrderStatus
) -> bool:
    """Whether the order has left ``expected`` (then this step's answer comes too late);
    a final status other than ``outcome`` is a contradiction, kept for support."""
    async with unit_of_work(deps.session_factory) as session:
        current = await OrderRepository(session).order(order.id, for_update=True)
        if current is None or current.status == expected:
            return False
        if current.status in FINAL_BY_SUPPLIER and current.status != outcome:
            note_contradiction(session, current, answered=outcome.value)
        return True


FINAL_BY_SUPPLIER = (OrderStatus.succeeded, OrderStatus.failed)


def note_contradiction(session: AsyncSession, order: Order, *, answered: str) -> None:
    """The supplier said one thing and then another: the first recorded answer stands and
    no money moves, but support must see it (the operator may or may not have credited
    the number), in the log and in the audit log next to the order's other decisions."""
    # Looked up here rather than cached at import: rare, and always under the logging set-up
    # in force when it happens.
    structlog.get_logger(__name__).warning(
        "supplier_contradiction",
        order_id=order.id,
        recorded_status=order.status,
        answered_status=answered,
        supplier_transaction_id=order.supplier_transaction_id,
    )
    audit.record(
        session,
        kind="supplier_contradiction",
        outcome=answered,
        order_id=order.id,
        customer_id=order.customer_id,
        inputs={
            "recorded_status": order.status,
            "answered_status": answered,
            "supplier_transaction_id": order.supplier_transaction_id,
        },
    )


# ---- review: rejected by support, or left undecided past the deadline ----------------------


async def _close_review(deps: OrderDeps, order: Order) -> None:
    decision = order.review_decision
    if decision is None:
        if clock.now() < review_deadline(order):
            return  # claimed before its deadline and not decided: nothing to do yet
        # The deadline decides, unless a person decided a moment before: whichever writes
        # first wins, and an approval is never voided behind its back.
        async with unit_of_work(deps.session_factory) as session:
            if not await OrderRepository(session).decide_review(
                order.id, decision=EXPIRED, status=OrderStatus.review.value, now=clock.now()
            ):
                return
        decision = EXPIRED
    if decision not in (EXPIRED, REJECTED):
        return
    if not _from_wallet(order):
        assert order.gateway_reference is not None
        await deps.gateway.void(order.gateway_reference)
        faults.checkpoint("order.review_voided_at_gateway")

    async def change(session: AsyncSession, current: Order) -> None:
        await ledger_entries.release(session, current)
        current.status = OrderStatus.rejected.value
        current.payment_status = PaymentStatus.voided.value
        current.failure_code = "review_expired" if decision == EXPIRED else "review_rejected"
        if decision == EXPIRED:
            audit.record(
                session,
                kind="review",
                outcome="expired",
                order_id=current.id,
                customer_id=current.customer_id,
                inputs={"deadline": review_deadline(current).isoformat()},
            )
        await order_messages.order_failed(session, current)

    await _record(deps, order, OrderStatus.review, change)


STEPS: dict[OrderStatus, Step] = {
    OrderStatus.created: _authorize,
    OrderStatus.authorized: _submit,
    OrderStatus.submitted: _poll,
    OrderStatus.pending: _poll,
    OrderStatus.review: _close_review,
}
