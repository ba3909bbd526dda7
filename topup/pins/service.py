"""Keeping a delivered PIN and showing it to its buyer.

The PIN arrives with the supplier's successful answer and is sealed into ``order_pins`` in
the transaction that records the order's success, so an order is never ``succeeded``
without the PIN it sold (a crash before the commit leaves both for the next step, and the
supplier repeats the same PIN under the same reference). It is opened only for the order's
owner, when they read that order. It is never logged: the dataclasses that carry it hide it
from their repr, and no log line or error names it.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.models import PIN_PRODUCT_TYPES, ProductType
from topup.kit import clock
from topup.kit.sealing import Sealer, sealer
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

log = structlog.get_logger(__name__)


def pin_sealer(secret_key: str) -> Sealer:
    return sealer(secret_key, PURPOSE)


async def keep(
    session: AsyncSession, seal: Sealer, order: Order, pin: PinDelivery | None
) -> PinDelivery | None:
    """Store the PIN of a PIN product that has just succeeded; returns the PIN to send, or
    None for any other product. A supplier that reported success without a PIN has still
    delivered (and charged us): the order succeeds, and support is told, by the log and the
    audit log, that the buyer has nothing to use."""
    if order.product_type not in PIN_PRODUCT_TYPES:
        return None
    repository = PinRepository(session)
    if await repository.of_order(order.id) is not None:
        return None  # kept by an earlier run of this step: its messages are queued too
    if pin is None:
        log.warning("pin_missing", order_id=order.id, product_type=order.product_type)
        audit.record(
            session,
            kind="pin_missing",
            outcome="succeeded_without_pin",
            order_id=order.id,
            customer_id=order.customer_id,
            inputs={"supplier_transaction_id": order.supplier_transaction_id},
        )
        return None
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


async def pin_for_owner(
    session: AsyncSession, seal: Sealer, supplier: TopupSupplier, order: Order
) -> PinOut | None:
    """What ``GET /v1/orders/{id}`` shows of the order's PIN (the caller owns the order)."""
    pin = await delivered_pin(session, seal, order)
    if pin is None:
        return None
    return pin_out(pin, await card_balance(supplier, order))
