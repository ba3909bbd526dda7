"""A support user's decision on an order held for review.

Approving moves it on to the supplier; rejecting leaves the void of its card hold to the
lifecycle (a remote call, made with no transaction open), which the caller then runs.
Both are audited with who decided.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.kit import clock
from topup.kit.errors import Conflict, NotFound
from topup.orders.models import Order, OrderStatus
from topup.orders.repository import OrderRepository
from topup.risk import audit
from topup.risk.blocks import checked_reason

APPROVED = "approved"
REJECTED = "rejected"


async def approve(session: AsyncSession, order_id: str, *, actor: str) -> Order:
    order = await _in_review(session, order_id)
    order.review_decision = APPROVED
    order.status = OrderStatus.authorized.value
    order.due_at = order.updated_at = clock.now()
    _audit(session, order, APPROVED, actor, reason=None)
    return order


async def reject(session: AsyncSession, order_id: str, *, actor: str, reason: str) -> Order:
    text = checked_reason(reason)
    order = await _in_review(session, order_id)
    order.review_decision = REJECTED
    order.due_at = order.updated_at = clock.now()
    _audit(session, order, REJECTED, actor, reason=text)
    return order


async def _in_review(session: AsyncSession, order_id: str) -> Order:
    order = await OrderRepository(session).order(order_id, for_update=True)
    if order is None:
        raise NotFound("No such order.", code="not_found")
    if order.status != OrderStatus.review or order.review_decision is not None:
        raise Conflict(
            f"Order {order_id} is not waiting for review (it is {order.status}).",
            code="order_not_in_review",
        )
    return order


def _audit(
    session: AsyncSession, order: Order, outcome: str, actor: str, *, reason: str | None
) -> None:
    audit.record(
        session,
        kind="review",
        outcome=outcome,
        actor=actor,
        order_id=order.id,
        customer_id=order.customer_id,
        inputs={"risk_score": order.risk_score, "reason": reason},
        score=order.risk_score,
    )
