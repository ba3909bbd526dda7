"""A support user's decision on an order held for review.

Approving moves it on to the supplier; rejecting leaves the void of its card hold to the
lifecycle (a remote call, made with no transaction open), which the caller then runs.
Both are audited with who decided.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import CustomerStatus
from topup.accounts.repository import AccountRepository
from topup.kit import clock
from topup.kit.errors import Conflict, Forbidden, NotFound
from topup.orders.lifecycle import review_deadline
from topup.orders.models import Order, OrderStatus
from topup.orders.repository import OrderRepository
from topup.risk import audit
from topup.risk.blocks import checked_reason
from topup.risk.repository import RiskRepository

APPROVED = "approved"
REJECTED = "rejected"


async def approve(session: AsyncSession, order_id: str, *, actor: str) -> Order:
    order = await _reviewable(session, order_id, actor)
    await _still_allowed_to_pay(session, order)
    if clock.now() >= review_deadline(order):
        raise Conflict("The review deadline has passed.", code="order_not_in_review")
    await _decide(session, order, APPROVED, status=OrderStatus.authorized)
    _audit(session, order, APPROVED, actor, reason=None)
    return order


async def reject(session: AsyncSession, order_id: str, *, actor: str, reason: str) -> Order:
    text = checked_reason(reason)
    order = await _reviewable(session, order_id, actor)
    await _decide(session, order, REJECTED, status=OrderStatus.review)
    _audit(session, order, REJECTED, actor, reason=text)
    return order


async def _reviewable(session: AsyncSession, order_id: str, actor: str) -> Order:
    order = await OrderRepository(session).order(order_id)
    if order is None:
        raise NotFound("No such order.", code="not_found")
    if order.customer_id == actor:
        raise Forbidden("Nobody reviews their own order.", code="own_order")
    return order


async def _decide(
    session: AsyncSession, order: Order, decision: str, *, status: OrderStatus
) -> None:
    """Record the decision only if the order still waits for one: a conditional UPDATE,
    so two people (or a person and the deadline) can never both decide, on SQLite too."""
    now = clock.now()
    decided = await OrderRepository(session).decide_review(
        order.id, decision=decision, status=status.value, now=now
    )
    if not decided:
        raise Conflict(
            f"Order {order.id} is not waiting for review any more.", code="order_not_in_review"
        )
    await session.refresh(order)


async def _still_allowed_to_pay(session: AsyncSession, order: Order) -> None:
    """What changed while the order waited: a blocked card or account stops it here."""
    customer = await AccountRepository(session).customer(order.customer_id)
    if customer is None or customer.status != CustomerStatus.active:
        raise Conflict("The buyer's account is no longer active.", code="account_blocked")
    if order.card_fingerprint and await RiskRepository(session).card_block(order.card_fingerprint):
        raise Conflict("The order's card has been blocked since.", code="card_blocked")


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
