"""What the refund policy needs to know of a plan's charge.

Product document 004: a charge taken on the 1st because nobody cancelled is not refundable;
so every charge after the first cycle's is refused here. The first purchase follows the
``plan`` policy (presets.toml), whose ``remaining_balance`` is read as the unused share of
the first period, in seconds: the 50 % rule then allows a refund in the first half of the
period only. Once the service has stopped (cancelled or suspended) nothing remains: the
same document refuses a refund on cancellation ("no refund will be issued").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from topup.orders.models import Order
from topup.refunds.quote import RefundRefused, RemainingBalance
from topup.subscriptions.repository import SubscriptionRepository


async def plan_remaining(
    session: AsyncSession, order: Order, *, now: datetime
) -> RemainingBalance | None:
    """The unused share of the period ``order`` paid for; None when no subscription
    charge is known for it (the policy then says the balance is unknown)."""
    repository = SubscriptionRepository(session)
    charge = await repository.charge_for_order(order.id)
    if charge is None:
        return None
    if charge.renewal:
        raise RefundRefused(
            "renewal_not_refundable",
            "A plan's monthly renewal is not refundable: cancel before the 1st to stop the"
            " next charge.",
            field="order_id",
        )
    subscription = await repository.subscription(charge.subscription_id)
    assert subscription is not None
    original = _seconds(charge.period_end, charge.period_start)
    stopped = subscription.service_ends_at is not None and subscription.service_ends_at <= now
    if stopped:
        return RemainingBalance(remaining=0, original=original)
    unused = _seconds(charge.period_end, max(now, charge.period_start))
    return RemainingBalance(remaining=max(0, min(unused, original)), original=original)


def _seconds(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds())
