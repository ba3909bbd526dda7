"""A supplier's callback about one top-up: a hint that the order is worth asking about now.

The body of a callback is never trusted with money, even signed: the order only becomes due,
and the worker's status call (our request, over our authenticated connection) decides, as
for any poll. A callback for an order that has already ended changes nothing; one that
contradicts the recorded end is kept for support.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.orders.lifecycle import FINAL_BY_SUPPLIER, note_contradiction
from topup.orders.models import OrderStatus
from topup.orders.repository import OrderRepository
from topup.providers.suppliers.base import TopupStatus

WAITING_FOR_SUPPLIER = (OrderStatus.submitted, OrderStatus.pending)
FINAL_ANSWERS = {
    TopupStatus.succeeded: OrderStatus.succeeded,
    TopupStatus.failed: OrderStatus.failed,
}


class CallbackEffect(StrEnum):
    poll_now = "poll_now"
    contradiction = "contradiction"
    ignored = "ignored"


async def supplier_reported(
    session: AsyncSession, *, order_id: str, status: TopupStatus
) -> CallbackEffect:
    order = await OrderRepository(session).order(order_id, for_update=True)
    if order is None:
        return CallbackEffect.ignored
    if order.status in WAITING_FOR_SUPPLIER:
        order.due_at = min(order.due_at, clock.now())
        return CallbackEffect.poll_now
    answered = FINAL_ANSWERS.get(status)
    if order.status in FINAL_BY_SUPPLIER and answered is not None and answered != order.status:
        note_contradiction(session, order, answered=answered.value)
        return CallbackEffect.contradiction
    return CallbackEffect.ignored
