"""What the refund policy needs to know of a plan's charge.

Product document 004: a charge taken on the 1st because nobody cancelled is not refundable;
so every charge after the first cycle's is refused here. The first purchase follows the
``plan`` policy (presets.toml), whose ``remaining_balance`` is read as the unused share of
the first period, in seconds, counted from the moment the service stopped. A refund is
therefore asked for once the plan is cancelled: a refund while the service runs would pay
back days the customer goes on using (and the renewals would go on too). Counting from the
stop, not from the request, makes the amount the same whenever within the window it is
asked for; with the 50 % minimum, a plan cancelled in the first half of its first period
can be refunded, less 12 %. The stop counted is the one the supplier confirmed
(``service_end``): until it has, the bundle may still be live and the refund is refused
(``service_end_unconfirmed``); with a supplier that cannot end plans (Reloadly) it never
is, and such a refund goes to support.
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
    stopped = subscription.service_ends_at
    if stopped is None or stopped > now:
        raise RefundRefused(
            "plan_still_active",
            "Cancel the plan first: its refund is the unused share of the period from the"
            " moment its service stops.",
            field="order_id",
        )
    if subscription.service_ended_confirmed_at is None:
        raise RefundRefused(
            "service_end_unconfirmed",
            "The supplier has not yet confirmed that the plan's bundle stopped; ask again in"
            " a few minutes, or contact support.",
            field="order_id",
        )
    stopped = subscription.service_ended_confirmed_at
    original = _seconds(charge.period_end, charge.period_start)
    unused = _seconds(charge.period_end, max(stopped, charge.period_start))
    return RemainingBalance(remaining=max(0, min(unused, original)), original=original)


def _seconds(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds())
