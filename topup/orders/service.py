"""Placing an order: every check a customer can fix, then one row in ``created``.

Nothing is charged here. The lifecycle (``lifecycle.py``) takes the order on from
``created``: the fast path right after this transaction commits, the worker otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer
from topup.accounts.service import ensure_can_buy
from topup.catalogue.models import ProductType
from topup.catalogue.snapshot import CatalogueSnapshot, ProductEntry
from topup.kit import clock
from topup.kit.errors import InvalidInput
from topup.kit.ids import new_id
from topup.ledger.service import LedgerRefused
from topup.lookup.service import LookupResult, look_up_recipient
from topup.orders import ledger_entries
from topup.orders.models import Order, OrderStatus, PaymentMethod, PaymentStatus
from topup.orders.personal_message import checked_message
from topup.orders.pricing import split_price
from topup.orders.repository import OrderRepository
from topup.payments.models import SavedCard
from topup.payments.service import keep_card, own_card
from topup.promotions import service as promotions
from topup.providers.payments.base import (
    CardDetails,
    CardRejected,
    PaymentGateway,
    TokenizedCard,
)
from topup.providers.suppliers.base import NumberLookup
from topup.risk import service as risk
from topup.risk.models import Outcome
from topup.risk.signals import Draft
from topup.wallet.accounting import balance_of, ensure_available

# How long an order may stay pending before it fails and its hold is released (DESIGN §5).
PENDING_LIMIT = timedelta(hours=24)


@dataclass(frozen=True)
class NewCard:
    details: CardDetails
    save: bool


@dataclass(frozen=True)
class PlaceOrder:
    recipient_phone: str
    product_id: str
    amount: int | None  # the local value wanted, for range products (minor units)
    amount_currency: str | None
    card_id: str | None
    new_card: NewCard | None
    message: str | None
    confirm_duplicate: bool = False
    wallet: bool = False  # paid from the wallet instead of a card
    # Set only by topup.subscriptions: a monthly plan is sold as a subscription, never
    # one-off, since its charges follow the plan's billing and refund rules.
    subscription: bool = False
    promo_code: str | None = None  # a code the customer typed (topup/promotions)


@dataclass(frozen=True)
class PayingCard:
    """The card an order is paid with, as the gateway knows it."""

    saved_card_id: str | None
    token: str
    last4: str
    brand: str
    fingerprint: str
    country: str | None
    # A new card the customer asked to keep: stored once the order has been judged, so
    # that nothing is written before the risk lock is taken.
    to_keep: TokenizedCard | None = None

    @classmethod
    def saved(cls, card: SavedCard) -> PayingCard:
        return cls(
            card.id, card.gateway_token, card.last4, card.brand, card.fingerprint, card.country
        )


async def place_order(
    session: AsyncSession,
    *,
    snapshot: CatalogueSnapshot,
    number_lookup: NumberLookup,
    gateway: PaymentGateway,
    customer: Customer,
    request: PlaceOrder,
    found: LookupResult | None = None,
) -> Order:
    """``found``: the recipient as :func:`look_up_recipient` gave it before the caller
    opened a transaction holding a lock (a plan's renewal), so that no lock is held
    across the supplier's lookup; otherwise the number is looked up here."""
    ensure_can_buy(customer)
    message = checked_message(request.message)
    if found is None or found.e164 != request.recipient_phone:
        found = await look_up_recipient(snapshot, number_lookup, request.recipient_phone)
    product = product_for(snapshot, found, request.product_id)
    if product.product_type == ProductType.plan and not request.subscription:
        raise InvalidInput(
            "A monthly plan is bought as a subscription: POST /v1/subscriptions.",
            code="product_requires_subscription",
            field="product_id",
        )
    local_amount = local_amount_of(product, request.amount, request.amount_currency)
    card = None if request.wallet else await _card(session, gateway, customer, request)
    split = split_price(product, local_amount)
    promo = await _promotion(session, customer, request, product, found, split.price)
    # What the customer pays: the list price less any discount. The hold, the risk limits
    # and later refunds all count this, the money really paid.
    price = promo.price if promo else split.price
    if request.wallet:  # refused before anything is judged or written
        ensure_available(await balance_of(session, customer.id), price, field="payment.wallet")
    order_id = new_id("ord")
    # Judged before the card is touched: a rejected order never reaches the gateway.
    verdict = await risk.assess(
        session,
        Draft(
            order_id=order_id,
            customer=customer,
            recipient=found.e164,
            market=found.country.iso2,
            price=price,
            card_fingerprint=card.fingerprint if card else None,
            card_country=card.country if card else None,
            confirm_duplicate=request.confirm_duplicate,
        ),
    )
    rejected = verdict.outcome is Outcome.reject
    if card is not None and card.to_keep is not None:
        kept = await keep_card(session, customer, card.to_keep)
        card = replace(card, saved_card_id=kept.id, to_keep=None)
    now = clock.now()
    order = Order(
        id=order_id,
        customer_id=customer.id,
        status=(OrderStatus.rejected if rejected else OrderStatus.created).value,
        recipient_phone=found.e164,
        country_iso2=found.country.iso2,
        operator_id=found.operator.id,
        operator_name=found.operator.name,
        product_id=product.id,
        local_amount=local_amount,
        local_currency=product.currency,
        price_amount=price,
        discount_amount=promo.discount if promo else 0,
        promo_code_id=promo.code.id if promo else None,
        promo_code=promo.code.code if promo else None,
        cost_amount=split.cost,
        fee_amount=split.fee,
        vat_amount=split.vat,
        message=message,
        product_type=product.product_type,
        payment_method=PaymentMethod.wallet.value if card is None else PaymentMethod.card.value,
        card_id=card.saved_card_id if card else None,
        card_token=card.token if card else None,
        card_last4=card.last4 if card else None,
        card_brand=card.brand if card else None,
        card_fingerprint=card.fingerprint if card else None,
        card_country=card.country if card else None,
        payment_status=PaymentStatus.none.value,
        gateway_reference=None,
        hold_transfer_id=None,
        supplier_transaction_id=None,
        failure_code=verdict.failure_code,
        failure_message=verdict.failure_message,
        risk_outcome=verdict.outcome.value,
        risk_score=verdict.score,
        attempts=0,
        due_at=now,
        expires_at=now + PENDING_LIMIT,
        created_at=now,
        updated_at=now,
    )
    OrderRepository(session).add(order)
    await session.flush()
    if promo is not None and not rejected:
        # A rejected order never holds a use: it ends here, with nothing to give back.
        await promotions.reserve(session, promo, order)
    if card is None and not rejected:
        # The wallet is charged as the order is placed, in the same transaction: the hold
        # is the reservation, and the ledger refuses it if another spend got there first.
        try:
            order.hold_transfer_id = await ledger_entries.wallet_hold(session, order)
        except LedgerRefused as refused:
            refused.field = "payment.wallet"
            raise
        order.payment_status = PaymentStatus.authorized.value
    return order


async def _promotion(
    session: AsyncSession,
    customer: Customer,
    request: PlaceOrder,
    product: ProductEntry,
    found: LookupResult,
    list_price: int,
) -> promotions.Applied | None:
    if request.promo_code is None:
        return None
    target = promotions.Target(customer.id, product, found.country.iso2, list_price)
    return await promotions.apply(session, request.promo_code, target)


def product_for(snapshot: CatalogueSnapshot, found: LookupResult, product_id: str) -> ProductEntry:
    product = snapshot.product(product_id)
    if product is None:
        raise InvalidInput(
            "No such product is on sale.", code="product_not_found", field="product_id"
        )
    if product.operator_id != found.operator.id:
        raise InvalidInput(
            f"This product is not sold for {found.operator.name} numbers.",
            code="product_not_for_operator",
            field="product_id",
        )
    return product


def local_amount_of(product: ProductEntry, amount: int | None, currency: str | None) -> int:
    if product.kind == "fixed":
        assert product.local_value is not None
        if amount is not None and (amount != product.local_value or currency != product.currency):
            raise InvalidInput(
                "A fixed product has its own value; leave the amount out.",
                code="invalid_amount",
                field="amount",
            )
        return product.local_value
    if amount is None:
        raise InvalidInput(
            "Say how much local credit to send.", code="missing_field", field="amount"
        )
    assert product.local_min is not None
    assert product.local_max is not None
    assert product.local_step is not None
    if currency != product.currency:
        raise InvalidInput(
            f"The amount is in {product.currency}.", code="invalid_amount", field="amount.currency"
        )
    if not product.local_min <= amount <= product.local_max or amount % product.local_step:
        raise InvalidInput(
            f"Choose an amount from {product.local_min} to {product.local_max} in steps of "
            f"{product.local_step} (minor units of {product.currency}).",
            code="invalid_amount",
            field="amount.amount",
        )
    return amount


async def _card(
    session: AsyncSession, gateway: PaymentGateway, customer: Customer, request: PlaceOrder
) -> PayingCard:
    if request.card_id is not None:
        card = await own_card(session, customer.id, request.card_id, field="payment.card_id")
        return PayingCard.saved(card)
    assert request.new_card is not None
    try:
        tokenized = await gateway.tokenize(request.new_card.details)
    except CardRejected as rejected:
        raise InvalidInput(
            rejected.message, code=rejected.code, field=f"payment.card.{rejected.field}"
        ) from None
    return PayingCard(
        None,
        tokenized.token,
        tokenized.last4,
        tokenized.brand.value,
        tokenized.fingerprint,
        tokenized.country,
        to_keep=tokenized if request.new_card.save else None,
    )
