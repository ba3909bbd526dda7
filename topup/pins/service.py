"""Keeping a delivered PIN and showing it to its buyer.

The PIN arrives with the supplier's successful answer and is sealed into ``order_pins`` in
the transaction that records the order's success, so an order is never ``succeeded``
without the PIN it sold (a crash before the commit leaves both for the next step, and the
supplier repeats the same PIN under the same reference). A "succeeded" that carries no PIN
is not a delivery yet (``pin_missing``): the lifecycle keeps the order pending and asks
again, and fails it unpaid if its 24 hours pass without one. It is opened only for the
order's owner, when they read that order. It is never logged: the dataclasses that carry
it hide it from their repr, and no log line or error names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.models import PIN_PRODUCT_TYPES, ProductType
from topup.kit import clock
from topup.kit.sealing import SealBroken, Sealer, sealer
from topup.orders.models import Order, OrderStatus
from topup.pins.models import OrderPin
from topup.pins.repository import PinRepository
from topup.pins.schemas import PinOut
from topup.providers.suppliers.base import (
    CardBalance,
    PinDelivery,
    SupplierUnavailable,
    TopupSupplier,
)
from topup.risk import audit

PURPOSE = "order-pins"


def pin_sealer(secret_key: str) -> Sealer:
    return sealer(secret_key, PURPOSE)


def pin_missing(order: Order, pin: PinDelivery | None) -> bool:
    """Whether a supplier's "succeeded" for ``order`` lacks the PIN it sold: for a PIN
    product the PIN *is* the delivery, so without it nothing usable reached the buyer."""
    return order.product_type in PIN_PRODUCT_TYPES and pin is None


def note_pin_never_delivered(session: AsyncSession, order: Order) -> None:
    """The order's 24 hours passed with the supplier saying "succeeded" but never giving
    the PIN: the order fails and its payment is released, and support is told (log and
    audit log) to settle it with the supplier, which may have charged us for it."""
    # Looked up here rather than cached at import: rare, and always under the logging set-up
    # in force when it happens (as lifecycle.note_contradiction does).
    structlog.get_logger(__name__).warning(
        "pin_never_delivered",
        order_id=order.id,
        product_type=order.product_type,
        supplier_transaction_id=order.supplier_transaction_id,
    )
    audit.record(
        session,
        kind="pin_missing",
        outcome="failed_without_pin",
        order_id=order.id,
        customer_id=order.customer_id,
        inputs={"supplier_transaction_id": order.supplier_transaction_id},
    )


async def keep(
    session: AsyncSession, seal: Sealer, order: Order, pin: PinDelivery | None
) -> PinDelivery | None:
    """Store the PIN of a PIN product that has just succeeded; returns the PIN to send, or
    None for any other product (and when an earlier run of this step kept it already)."""
    if order.product_type not in PIN_PRODUCT_TYPES:
        return None
    # The lifecycle never records a PIN product's success without its PIN (pin_missing).
    assert pin is not None, "a PIN product succeeds only with its PIN"
    repository = PinRepository(session)
    if await repository.of_order(order.id) is not None:
        return None  # kept by an earlier run of this step: its messages are queued too
    repository.add(
        OrderPin(
            order_id=order.id,
            code_sealed=seal.seal(pin.code, bound_to=order.id),
            serial_sealed=seal.seal(pin.serial, bound_to=order.id),
            original_balance=pin.balance,
            balance_currency=pin.currency,
            access_number=pin.access_number,
            instructions=pin.instructions,
            created_at=clock.now(),
        )
    )
    return pin


async def delivered_pin(session: AsyncSession, seal: Sealer, order: Order) -> PinDelivery | None:
    """The PIN of one of the caller's succeeded orders, opened; None when it has none."""
    if order.status != OrderStatus.succeeded:
        return None
    row = await PinRepository(session).of_order(order.id)
    if row is None:
        return None
    return PinDelivery(
        code=seal.open(row.code_sealed, bound_to=order.id),
        serial=seal.open(row.serial_sealed, bound_to=order.id),
        balance=row.original_balance,
        currency=row.balance_currency,
        access_number=row.access_number,
        instructions=row.instructions,
    )


async def card_balance(supplier: TopupSupplier, order: Order) -> CardBalance | None:
    """What is left on a delivered calling card, per the supplier; None when it is not one
    or the supplier cannot say now."""
    if order.product_type != ProductType.calling_card or order.status != OrderStatus.succeeded:
        return None
    try:
        return await supplier.card_balance(order.id)
    except SupplierUnavailable:
        return None


def pin_out(pin: PinDelivery, balance: CardBalance | None) -> PinOut:
    original = (
        {"amount": pin.balance, "currency": pin.currency}
        if pin.balance is not None and pin.currency is not None
        else None
    )
    remaining = (
        {"amount": balance.remaining, "currency": balance.currency} if balance is not None else None
    )
    return PinOut.model_validate(
        {
            "code": pin.code,
            "serial": pin.serial,
            "balance": remaining,
            "original_balance": original,
            "access_number": pin.access_number,
            "instructions": pin.instructions,
        }
    )


@dataclass(frozen=True, slots=True)
class OwnerPin:
    """What the owner's view of an order shows of its PIN."""

    pin: PinOut | None
    # The PIN is kept but does not open (``SealBroken``: most likely ``TOPUP_SECRET_KEY``
    # changed): the order is still shown, with this flag, so the customer knows to ask
    # support, rather than an error that hides the whole order.
    unavailable: bool = False


async def pin_for_owner(
    session: AsyncSession, seal: Sealer, supplier: TopupSupplier, order: Order
) -> OwnerPin:
    """What ``GET /v1/orders/{id}`` shows of the order's PIN (the caller owns the order)."""
    try:
        pin = await delivered_pin(session, seal, order)
    except SealBroken:
        # The order id only: neither the sealed bytes nor anything of the key.
        structlog.get_logger(__name__).warning("pin_seal_broken", order_id=order.id)
        return OwnerPin(None, unavailable=True)
    if pin is None:
        return OwnerPin(None)
    return OwnerPin(pin_out(pin, await card_balance(supplier, order)))
