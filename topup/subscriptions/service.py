"""Subscribing to a monthly plan, cancelling it, changing its card, and reading it.

Subscribing places the first charge at once, as an ordinary order in the same transaction
as the subscription and its charge row: either all three exist or none does, and a refusal
(no such card, a risk rule, a number the plan is not sold for) leaves nothing behind. The
first cycle runs from now to the 1st of next month and is charged in full, since the
operator delivers the whole bundle at once; the next charge is on that 1st.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from topup.accounts.models import Customer
from topup.catalogue.models import ProductType
from topup.catalogue.snapshot import CatalogueSnapshot, ProductEntry
from topup.kit import clock
from topup.kit.errors import AppError, Conflict, InvalidInput, NotFound
from topup.kit.ids import new_id
from topup.notifications import subscriptions as subscription_messages
from topup.orders.models import ACTIVE_STATUSES, Order
from topup.orders.service import NewCard, PlaceOrder, place_order
from topup.payments.service import own_card
from topup.providers.payments.base import CardDetails, PaymentGateway
from topup.providers.suppliers.base import NumberLookup
from topup.subscriptions.billing import FOLLOW, charge_owed, follow
from topup.subscriptions.cycles import charge_key, cycle_end, cycle_of, next_first
from topup.subscriptions.models import (
    ChargeStatus,
    Subscription,
    SubscriptionCharge,
    SubscriptionStatus,
)
from topup.subscriptions.repository import SubscriptionRepository
from topup.subscriptions.service_end import stop_service

ENDED = (SubscriptionStatus.cancelled, SubscriptionStatus.incomplete_expired)
# The order's field names, as the subscription's request names them.
FIELDS = {"product_id": "plan_id", "payment.card_id": "card_id"}


@dataclass(frozen=True, slots=True)
class Subscribe:
    plan_id: str
    recipient_phone: str
    card_id: str | None
    new_card: CardDetails | None  # kept as a saved card: the renewals are charged to it


def plans(
    snapshot: CatalogueSnapshot, *, country: str | None, operator_id: str | None
) -> list[ProductEntry]:
    """The plans on sale, by operator: the catalogue's products of type ``plan``."""
    found = [
        product
        for product in snapshot.products.values()
        if product.product_type == ProductType.plan and snapshot.product(product.id) is not None
    ]
    if operator_id is not None:
        found = [product for product in found if product.operator_id == operator_id]
    if country is not None:
        found = [
            product
            for product in found
            if snapshot.operators[product.operator_id].country_iso2 == country.upper()
        ]
    return sorted(found, key=lambda product: (product.operator_id, product.id))


def plan_for(snapshot: CatalogueSnapshot, plan_id: str) -> ProductEntry:
    product = snapshot.product(plan_id)
    if product is None or product.product_type != ProductType.plan:
        raise InvalidInput("No such plan is on sale.", code="plan_not_found", field="plan_id")
    return product


async def subscribe(
    session: AsyncSession,
    *,
    snapshot: CatalogueSnapshot,
    number_lookup: NumberLookup,
    gateway: PaymentGateway,
    customer: Customer,
    request: Subscribe,
) -> tuple[Subscription, Order]:
    plan = plan_for(snapshot, request.plan_id)
    order = await _first_order(session, snapshot, number_lookup, gateway, customer, request)
    now = clock.now()
    open_key = f"{customer.id}:{order.recipient_phone}:{plan.id}"
    repository = SubscriptionRepository(session)
    if await repository.open_with_key(open_key) is not None:
        raise _already_subscribed()
    subscription = _new_subscription(customer, order, open_key, now)
    repository.add(subscription)
    repository.add(_first_charge(subscription, order, now))
    try:
        async with session.begin_nested():
            await repository.flush()
    except IntegrityError:  # the same subscription, made by a racing request
        raise _already_subscribed() from None
    if order.status not in {status.value for status in ACTIVE_STATUSES}:
        await follow(session, subscription, now)  # refused by a risk rule: it ends now
    return subscription, order


async def _first_order(
    session: AsyncSession,
    snapshot: CatalogueSnapshot,
    number_lookup: NumberLookup,
    gateway: PaymentGateway,
    customer: Customer,
    request: Subscribe,
) -> Order:
    new_card = None if request.new_card is None else NewCard(request.new_card, save=True)
    try:
        return await place_order(
            session,
            snapshot=snapshot,
            number_lookup=number_lookup,
            gateway=gateway,
            customer=customer,
            request=PlaceOrder(
                recipient_phone=request.recipient_phone,
                product_id=request.plan_id,
                amount=None,
                amount_currency=None,
                card_id=request.card_id,
                new_card=new_card,
                message=None,
                # A second plan for the same number is refused below, by the open key.
                confirm_duplicate=True,
                subscription=True,
            ),
        )
    except AppError as refusal:
        if refusal.field is not None:
            refusal.field = FIELDS.get(refusal.field, refusal.field.removeprefix("payment."))
        raise


def _new_subscription(
    customer: Customer, order: Order, open_key: str, now: datetime
) -> Subscription:
    assert order.recipient_phone is not None
    period_end = next_first(now)
    return Subscription(
        id=new_id("sub"),
        customer_id=customer.id,
        status=SubscriptionStatus.incomplete.value,
        plan_id=order.product_id,
        operator_id=order.operator_id,
        operator_name=order.operator_name,
        recipient_phone=order.recipient_phone,
        price_amount=order.price_amount,
        local_amount=order.local_amount,
        local_currency=order.local_currency,
        card_id=order.card_id,
        card_last4=order.card_last4,
        open_key=open_key,
        cycle=cycle_of(now),
        current_period_start=now,
        current_period_end=period_end,
        next_charge_at=None,  # set once the first charge succeeds
        next_cycle=None,
        next_attempt=0,
        pending_order_id=order.id,
        due_at=now + FOLLOW,
        created_at=now,
        updated_at=now,
    )


def _first_charge(subscription: Subscription, order: Order, now: datetime) -> SubscriptionCharge:
    return SubscriptionCharge(
        id=new_id("sch"),
        subscription_id=subscription.id,
        cycle=subscription.cycle,
        attempt=0,
        key=charge_key(subscription.id, subscription.cycle, 0),
        renewal=False,
        order_id=order.id,
        status=ChargeStatus.placed.value,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        created_at=now,
    )


def _already_subscribed() -> Conflict:
    return Conflict(
        "This number already has this plan; cancel it before subscribing again.",
        code="subscription_exists",
        field="plan_id",
    )


async def own(
    session: AsyncSession, customer: Customer, subscription_id: str, *, for_update: bool = False
) -> Subscription:
    found = await SubscriptionRepository(session).subscription_of(
        customer.id, subscription_id, for_update=for_update
    )
    if found is None:  # another customer's subscription is as absent as one never made
        raise NotFound(
            "No such subscription.", code="subscription_not_found", field="subscription_id"
        )
    return found


async def cancel(session: AsyncSession, customer: Customer, subscription_id: str) -> Subscription:
    """Stop the service now and end the billing. Cancelling again changes nothing.

    ``now`` is read after the row is locked, so a charge the worker made first belongs to
    a cycle that began before this cancellation (see ``billing.charge_due``)."""
    subscription = await own(session, customer, subscription_id, for_update=True)
    if subscription.status in ENDED:
        return subscription
    now = clock.now()
    owed = subscription.next_charge_at is not None and charge_owed(subscription, now)
    subscription.status = SubscriptionStatus.cancelled.value
    subscription.cancelled_at = now
    subscription.open_key = None
    if subscription.service_ends_at is None:  # a suspended plan stopped earlier
        stop_service(subscription, now)  # the worker tells the supplier once this commits
    subscription.ended_reason = "cancelled"
    subscription.updated_at = now
    if not owed:
        subscription.next_charge_at = None
        subscription.next_cycle = None
    if subscription.pending_order_id is None:
        subscription.due_at = now if owed else None
    await _save(session)
    await subscription_messages.subscription_cancelled(session, subscription, charge_owed=owed)
    return subscription


async def change_card(
    session: AsyncSession, customer: Customer, subscription_id: str, card_id: str
) -> Subscription:
    """Charge another saved card from now on. A plan waiting for a retry, or suspended
    because the retries failed, is charged again at once with it."""
    subscription = await own(session, customer, subscription_id, for_update=True)
    if subscription.status in ENDED:
        raise Conflict(
            "This subscription has ended; subscribe again.",
            code="subscription_ended",
            field="subscription_id",
        )
    card = await own_card(session, customer.id, card_id, field="card_id")
    now = clock.now()
    subscription.card_id = card.id
    subscription.card_last4 = card.last4
    subscription.updated_at = now
    if subscription.status in (SubscriptionStatus.past_due, SubscriptionStatus.suspended):
        _retry_now(subscription, now)
    await _save(session)
    return subscription


async def _save(session: AsyncSession) -> None:
    """Write the change now. On SQLite a worker may have moved the row since it was read
    (FOR UPDATE locks nothing there): the versioned UPDATE then matches nothing, and the
    customer is asked to try again rather than have the worker's change overwritten."""
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(
            "This subscription changed a moment ago; try again.",
            code="subscription_busy",
            field="subscription_id",
            headers={"Retry-After": "1"},
        ) from None


def _retry_now(subscription: Subscription, now: datetime) -> None:
    """The unpaid cycle is tried again now, or, once it is over, the cycle now running."""
    assert subscription.next_cycle is not None
    if now >= cycle_end(subscription.next_cycle):
        subscription.next_cycle = cycle_of(now)
        subscription.next_attempt = 0
    subscription.status = SubscriptionStatus.past_due.value
    subscription.next_charge_at = now
    if subscription.pending_order_id is None:
        subscription.due_at = now


async def charges_of(
    session: AsyncSession, subscription_ids: list[str]
) -> list[SubscriptionCharge]:
    return list(await SubscriptionRepository(session).charges_of(subscription_ids))
