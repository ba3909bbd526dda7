"""Promo codes applied to an order: checked, reserved with the order, then used or given back.

- ``apply`` checks a code against an order (or a preview) and works out the discount; it
  writes nothing, so a preview and a refused order leave no trace.
- ``reserve`` takes one use of the code's total and one of the customer's, each by a
  guarded UPDATE, in the order's own transaction: a placement refused afterwards rolls the
  reservation back with it, and of racing orders for the last use exactly one gets it.
- ``settle_redemption`` runs wherever the lifecycle records an order's end: a delivered
  order's use stays (``used``), an order that ended without delivering gives it back
  (``released``), once, however often the step is repeated.

A code is bound to the account that redeems it: each redemption names the customer and the
order, a code issued to one account works only for it, and the discount has no cash value
(a refund gives back what was paid, never the discount, and nothing moves to a wallet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from topup.catalogue.models import ProductType
from topup.catalogue.snapshot import ProductEntry
from topup.kit import clock
from topup.kit.errors import InvalidInput
from topup.kit.ids import new_id
from topup.kit.ratelimit import Limit
from topup.orders.models import Order, OrderStatus
from topup.promotions.models import (
    DiscountKind,
    PromoCode,
    PromoRedemption,
    RedemptionStatus,
)
from topup.promotions.repository import PromoRepository

# The least a discounted order still charges, in EUR cents. Card networks (and Stripe)
# refuse charges under 50 cents, every order goes through an authorization, and the ledger
# holds only positive amounts; so a discount stops 50 cents above zero, on the wallet too,
# and a code that would leave less than that to pay is refused as not applicable.
MIN_CHARGE = 50
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")
FIELD = "promo_code"
# Whether a code exists shows in the answer to a preview and to an order carrying it: every
# code tried either way counts against one limit per account, so codes cannot be guessed by
# trying them one after another.
TRIES = Limit("promo-code-tries", "30/10 minutes")

DELIVERED = frozenset({OrderStatus.succeeded})
# Every way an order ends without delivering: its use is given back.
NOT_DELIVERED = frozenset({OrderStatus.failed, OrderStatus.declined, OrderStatus.rejected})


class PromoRefused(InvalidInput):
    """A code that does not apply here; ``code`` says why (``promo_code_expired``, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code, field=FIELD)


def normalised(text: str) -> str:
    """Codes are case-insensitive: one spelling, upper-case, is stored and compared."""
    return text.strip().upper()


@dataclass(frozen=True, slots=True)
class Target:
    """What a code is applied to: one customer buying one product."""

    customer_id: str
    product: ProductEntry
    country_iso2: str
    list_price: int  # EUR cents


@dataclass(frozen=True, slots=True)
class Applied:
    code: PromoCode
    list_price: int
    discount: int

    @property
    def price(self) -> int:
        """What the customer pays."""
        return self.list_price - self.discount


def discount_of(code: PromoCode, list_price: int) -> int:
    """The discount ``code`` gives on ``list_price`` cents. A percentage rounds to the cent
    half up (a half cent goes to the customer); either kind stops at ``MIN_CHARGE``."""
    if code.kind == DiscountKind.percent:
        assert code.percent_off is not None
        exact = Decimal(list_price) * code.percent_off / 100
        wanted = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        assert code.amount_off is not None
        wanted = code.amount_off
    return max(0, min(wanted, list_price - MIN_CHARGE))


async def apply(session: AsyncSession, code_text: str, target: Target) -> Applied:
    """The discount ``code_text`` gives ``target``, or :class:`PromoRefused`."""
    repository = PromoRepository(session)
    text = normalised(code_text)
    code = await repository.code_named(text) if CODE.fullmatch(text) else None
    # A disabled code answers as an unknown one: it is simply no longer offered. A code
    # issued to another account does too: saying otherwise would tell that it exists.
    if (
        code is None
        or not code.enabled
        or (code.customer_id is not None and code.customer_id != target.customer_id)
    ):
        raise PromoRefused("promo_code_not_found", "There is no such promo code.")
    _check_dates(code)
    _check_restrictions(code, target)
    discount = discount_of(code, target.list_price)
    if discount <= 0:
        raise PromoRefused(
            "promo_code_not_applicable",
            f"The price is too low for a discount: at least {MIN_CHARGE} cents are charged.",
        )
    if code.max_redemptions is not None and code.redeemed >= code.max_redemptions:
        raise _exhausted()
    if await repository.uses_of(code.id, target.customer_id) >= code.per_customer_limit:
        raise _limit_reached()
    return Applied(code, target.list_price, discount)


def _check_dates(code: PromoCode) -> None:
    now = clock.now()
    if now < code.valid_from:
        raise PromoRefused(
            "promo_code_not_yet_valid",
            f"This promo code is valid from {code.valid_from.isoformat()}.",
        )
    if now >= code.valid_until:
        raise PromoRefused(
            "promo_code_expired", f"This promo code expired on {code.valid_until.isoformat()}."
        )


def _check_restrictions(code: PromoCode, target: Target) -> None:
    product = target.product
    if product.product_type == ProductType.plan:
        # A plan is bought through /v1/subscriptions, which takes no code: a discount
        # shown on one could never be had.
        raise PromoRefused("promo_code_not_applicable", "Plans take no promo code.")
    limits = [
        (code.product_ids, product.id, "product"),
        (code.operator_ids, product.operator_id, "operator"),
        (code.country_iso2s, target.country_iso2, "country"),
        (code.product_types, product.product_type, "type of product"),
    ]
    for allowed, value, what in limits:
        if allowed and value not in allowed:
            raise PromoRefused(
                "promo_code_not_applicable", f"This promo code does not apply to this {what}."
            )
    if code.min_price is not None and target.list_price < code.min_price:
        raise PromoRefused(
            "promo_code_not_applicable",
            f"This promo code applies from a price of {code.min_price} cents.",
        )


def _exhausted() -> PromoRefused:
    return PromoRefused("promo_code_exhausted", "This promo code has been used up.")


def _limit_reached() -> PromoRefused:
    return PromoRefused(
        "promo_code_limit_reached", "You have used this promo code as often as it allows."
    )


async def reserve(session: AsyncSession, applied: Applied, order: Order) -> None:
    """Take the order's use of the code, in the order's transaction (after its row is
    flushed). Losing the race for the last use refuses the whole placement."""
    repository = PromoRepository(session)
    code = applied.code
    if not await repository.take_total(code.id):
        raise _exhausted()
    if not await repository.take_customer_use(
        code.id, order.customer_id, limit=code.per_customer_limit
    ):
        raise _limit_reached()
    now = clock.now()
    repository.add(
        PromoRedemption(
            id=new_id("red"),
            promo_code_id=code.id,
            customer_id=order.customer_id,
            order_id=order.id,
            discount_amount=applied.discount,
            status=RedemptionStatus.reserved.value,
            created_at=now,
            updated_at=now,
        )
    )


async def settle_redemption(session: AsyncSession, order: Order) -> None:
    """Close the order's redemption once the order has ended: kept if it was delivered,
    given back otherwise. Called on every recorded step; does nothing before the end, for
    an order without a code, or a second time."""
    if order.promo_code_id is None:
        return
    status = OrderStatus(order.status)
    if status in DELIVERED:
        outcome = RedemptionStatus.used
    elif status in NOT_DELIVERED:
        outcome = RedemptionStatus.released
    else:
        return
    repository = PromoRepository(session)
    closed = await repository.close_redemption(order.id, outcome, now=clock.now())
    if closed and outcome is RedemptionStatus.released:
        await repository.give_back_total(order.promo_code_id)
        await repository.give_back_customer_use(order.promo_code_id, order.customer_id)
