"""What a refund would be: the policy applied to one order, with no side effects.

The same function answers the preview (shown to the customer before they confirm) and
checks the request itself, so the figures a customer saw are the figures they get. Every
refusal names the rule that refused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from topup.kit.errors import InvalidInput
from topup.kit.money import Money
from topup.refunds.policy import Approval, BusinessCalendar, Destination, RefundPolicy

EUR = "EUR"


class RefundRefused(InvalidInput):
    """A refund the policy does not allow; ``rule`` says which rule refused it."""

    code = "refund_not_allowed"

    def __init__(self, rule: str, message: str, *, field: str) -> None:
        super().__init__(f"{message} (rule: {rule})", field=field)
        self.rule = rule
        self.reason_text = message


@dataclass(frozen=True, slots=True)
class RemainingBalance:
    """For a product used over time (a calling card): what is left of what was bought,
    in the product's own units."""

    remaining: int
    original: int


@dataclass(frozen=True, slots=True)
class Purchase:
    """What the policy needs to know about the order being refunded."""

    paid: int  # EUR cents captured for it; 0 when nothing was taken
    already_claimed: int  # EUR cents earlier refund requests have claimed
    purchased_at: datetime
    remaining: RemainingBalance | None = None


@dataclass(frozen=True, slots=True)
class RefundAsk:
    reason: str
    destination: Destination
    amount: int | None  # None: as much as may be refunded


@dataclass(frozen=True, slots=True)
class Quote:
    amount: int
    fee: int
    net: int
    destination: Destination
    approval: Approval
    answer_by: datetime
    # The most the policy lets this order's refunds add up to: the claim on the order is
    # guarded by it, so racing requests cannot together pass it.
    ceiling: int


def quote(
    policy: RefundPolicy,
    purchase: Purchase,
    ask: RefundAsk,
    *,
    now: datetime,
    calendar: BusinessCalendar,
) -> Quote:
    """The refund ``ask`` would get under ``policy``, or :class:`RefundRefused`."""
    if purchase.paid <= 0:
        raise RefundRefused(
            "nothing_captured",
            "Nothing was taken for this order: its payment was released in full.",
            field="order_id",
        )
    approval = policy.reasons.get(ask.reason)
    if approval is None:
        raise RefundRefused("reason_not_eligible", policy.final_note, field="reason")
    if ask.destination not in policy.destinations:
        allowed = " or ".join(destination.value for destination in policy.destinations)
        raise RefundRefused(
            "destination_not_allowed",
            f"Refunds of this product go to: {allowed}.",
            field="destination",
        )
    deadline = calendar.window_end(purchase.purchased_at, policy.window)
    if now > deadline:
        raise RefundRefused(
            "outside_window",
            f"Refunds must be asked for within {policy.window.length}"
            f" {policy.window.unit.value.replace('_', ' ')} of the purchase; that ended"
            f" {deadline.date().isoformat()}.",
            field="order_id",
        )
    # Earlier claims come out of what the policy allows, not only out of what was paid: a
    # card's remaining balance refunded once is not refunded again from the rest of the price.
    ceiling = _base(policy, purchase)
    refundable = ceiling - purchase.already_claimed
    if refundable <= 0:
        raise RefundRefused(
            "already_refunded",
            "Everything that could be refunded for this order has been asked for already.",
            field="order_id",
        )
    amount = refundable if ask.amount is None else ask.amount
    if amount > refundable:
        raise RefundRefused(
            "amount_above_refundable",
            f"At most {Money(refundable, EUR).to_major()} EUR can be refunded for this order.",
            field="amount.amount",
        )
    fee = fee_of(amount, policy.fee_percent)
    return Quote(
        amount=amount,
        fee=fee,
        net=amount - fee,
        destination=ask.destination,
        approval=approval,
        answer_by=calendar.add_business_days(now, policy.answer_within_business_days),
        ceiling=ceiling,
    )


def fee_of(amount: int, percent: Decimal) -> int:
    """The policy's fee on ``amount`` cents, to the nearest cent, half up."""
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _base(policy: RefundPolicy, purchase: Purchase) -> int:
    """What the policy lets be refunded at most, before earlier refunds."""
    if policy.refund_of == "amount_paid":
        return purchase.paid
    remaining = purchase.remaining
    if remaining is None or remaining.original <= 0:
        raise RefundRefused(
            "remaining_balance_unknown",
            "The remaining balance of this product is not known yet; ask support.",
            field="order_id",
        )
    # Compared in whole numbers: remaining / original < percent / 100, without rounding.
    if remaining.remaining * 100 < policy.min_remaining_percent * remaining.original:
        raise RefundRefused(
            "below_minimum_remaining",
            f"Less than {policy.min_remaining_percent} % of the balance is left, so no"
            " refund can be made.",
            field="order_id",
        )
    # Only the unused share of what was paid, rounded down: never more than is left.
    return purchase.paid * min(remaining.remaining, remaining.original) // remaining.original
