"""Charging a subscription: the renewal on the 1st, its retries, and following each
charge's order to its end. This is the worker's step for a due subscription.

A charge is an ordinary order (limits, fraud rules, the card network, the supplier), placed
in the same transaction as its ``subscription_charges`` row. That row is unique per
(subscription, cycle, attempt), so however many workers take the row, and however often a
crashed step is run again, a cycle's attempt is charged once: the second insert fails and
its order rolls back with it. Writing both in one transaction (rather than placing the
order under an idempotency key first, as ``orders.placement.place_once`` does) leaves no
moment where an order exists without the charge that explains it, and does not depend on
a key's 72-hour lifetime. The number is looked up before that transaction (it is a call to
the supplier) and the answer passed to ``place_order``: the subscription's lock is held
across no remote call.

The cut-off is decided by the cancellation's timestamp, never by when the worker runs: a
cycle is charged only if it began before the subscription was cancelled (see
:func:`charge_due`), so a worker running late on the 1st charges nothing that a
cancellation at 23:59:59 stopped, and still charges the cycle a cancellation at 00:00:01
did not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.repository import AccountRepository
from topup.catalogue.snapshot import CatalogueSnapshot
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError
from topup.kit.ids import new_id
from topup.lookup.service import LookupResult, look_up_recipient
from topup.notifications import subscriptions as subscription_messages
from topup.orders.lifecycle import drive
from topup.orders.models import ACTIVE_STATUSES, Order, OrderStatus
from topup.orders.repository import OrderRepository
from topup.orders.service import PlaceOrder, place_order
from topup.runtime import Runtime
from topup.subscriptions.cycles import charge_key, cycle_end, cycle_of, cycle_start
from topup.subscriptions.models import (
    ChargeStatus,
    Subscription,
    SubscriptionCharge,
    SubscriptionStatus,
)
from topup.subscriptions.repository import SubscriptionRepository
from topup.subscriptions.service_end import resume_service, stop_service

# While a charge's order is in flight the subscription looks at it again after this.
FOLLOW = timedelta(minutes=1)
# A worker that took a subscription and died lets it fall due again after this.
LEASE = timedelta(minutes=2)
# After the charge on the 1st fails, it is tried again after each of these; when the last
# retry fails too the plan is suspended (about a week after the 1st).
RETRY_DELAYS = (timedelta(days=1), timedelta(days=2), timedelta(days=4))
ACCOUNT_CLOSED = "account_closed"
log = structlog.get_logger("topup.subscriptions")


async def advance(runtime: Runtime, subscription_id: str) -> None:
    """The worker's step: charge what is due, or follow the charge in flight. A charge just
    placed is driven at once (as the API's fast path drives an order) and followed again."""
    placed = await _step(runtime, subscription_id)
    if placed is not None:
        await drive(runtime.order_deps(), placed)
        await _step(runtime, subscription_id)


async def follow_first_charge(runtime: Runtime, subscription_id: str, order_id: str) -> None:
    """After POST /v1/subscriptions: drive the first charge's order, then record its end."""
    await drive(runtime.order_deps(), order_id)
    await _step(runtime, subscription_id)


async def _step(runtime: Runtime, subscription_id: str) -> str | None:
    """One transaction on the subscription; returns the id of an order it placed. A
    charge's number lookup (a call to the supplier) is made before that transaction:
    the lock it takes would otherwise be held across the call (on SQLite, every other
    writer would wait for the supplier)."""
    snapshot = await runtime.catalogue.get()
    found = await _recipient_if_due(runtime, snapshot, subscription_id)
    async with unit_of_work(runtime.session_factory) as session:
        repository = SubscriptionRepository(session)
        subscription = await repository.subscription(subscription_id, for_update=True)
        if subscription is None:
            return None
        now = clock.now()
        if subscription.pending_order_id is not None:
            await follow(session, subscription, now)
            return None
        if not charge_due(subscription, now):
            _rest(subscription, now)
            return None
        if found is None or not _same_recipient(found, subscription):
            # It fell due between the read and the lock: the next round charges it.
            subscription.due_at = now
            return None
        return await _charge(session, snapshot, runtime, subscription, found, now)


# The recipient as looked up before the charge's transaction, or the refusal of the lookup
# (it fails the attempt as a refusal of the order would).
Recipient = LookupResult | AppError


async def _recipient_if_due(
    runtime: Runtime, snapshot: CatalogueSnapshot, subscription_id: str
) -> Recipient | None:
    """The recipient looked up when a read without a lock finds a charge due; ``None``
    when nothing is to be charged now. The locked transaction decides again."""
    async with runtime.session_factory() as session:
        subscription = await SubscriptionRepository(session).subscription(subscription_id)
    if subscription is None or subscription.pending_order_id is not None:
        return None
    if not charge_due(subscription, clock.now()):
        return None
    try:
        return await look_up_recipient(
            snapshot, runtime.number_lookup, subscription.recipient_phone
        )
    except AppError as refusal:
        return refusal


def _same_recipient(found: Recipient, subscription: Subscription) -> bool:
    return isinstance(found, AppError) or found.e164 == subscription.recipient_phone


def charge_due(subscription: Subscription, now: datetime) -> bool:
    """Whether the next charge is to be made now. After a cancellation only the charge of
    a cycle that began before it is owed, and only its first attempt: retries stop with
    the service (a failed charge is not chased on a plan that no longer runs)."""
    if subscription.next_charge_at is None or subscription.next_cycle is None:
        return False
    if now < subscription.next_charge_at:
        return False
    if subscription.cancelled_at is None:
        return True
    return charge_owed(subscription, subscription.cancelled_at)


def charge_owed(subscription: Subscription, cancelled_at: datetime) -> bool:
    """The next charge survives a cancellation at ``cancelled_at``: its cycle had begun."""
    if subscription.next_cycle is None or subscription.next_attempt != 0:
        return False
    return cycle_start(subscription.next_cycle) <= cancelled_at


def _rest(subscription: Subscription, now: datetime) -> None:
    """Nothing to do now: wait for the next charge, or for nothing at all."""
    cancelled_at = subscription.cancelled_at
    if cancelled_at is not None and not charge_owed(subscription, cancelled_at):
        _no_more_charges(subscription)
    subscription.due_at = subscription.next_charge_at
    subscription.updated_at = now


def _no_more_charges(subscription: Subscription) -> None:
    subscription.next_charge_at = None
    subscription.next_cycle = None
    subscription.due_at = None


async def _charge(
    session: AsyncSession,
    snapshot: CatalogueSnapshot,
    runtime: Runtime,
    subscription: Subscription,
    found: Recipient,
    now: datetime,
) -> str | None:
    assert subscription.next_cycle is not None
    cycle, attempt = subscription.next_cycle, subscription.next_attempt
    charge = SubscriptionCharge(
        id=new_id("sch"),
        subscription_id=subscription.id,
        cycle=cycle,
        attempt=attempt,
        key=charge_key(subscription.id, cycle, attempt),
        renewal=True,  # the first cycle's charge is made when subscribing, never here
        order_id=None,
        status=ChargeStatus.placed.value,
        period_start=cycle_start(cycle),
        period_end=cycle_end(cycle),
        created_at=now,
    )
    customer = await AccountRepository(session).customer(subscription.customer_id)
    try:
        if customer is None:
            raise AppError("The account no longer exists.", code=ACCOUNT_CLOSED)
        if isinstance(found, AppError):
            raise found
        async with session.begin_nested():  # a refusal undoes only the order's own writes
            order = await place_order(
                session,
                snapshot=snapshot,
                number_lookup=runtime.number_lookup,
                gateway=runtime.payment_gateway,
                customer=customer,
                request=charge_request(subscription),
                found=found,
            )
    except AppError as refusal:  # no order was placed: this attempt failed as it began
        log.info(
            "subscription_charge_refused",
            subscription_id=subscription.id,
            failure_code=refusal.code,
        )
        charge.status = ChargeStatus.failed.value
        charge.failure_code = refusal.code
        charge.settled_at = now
        SubscriptionRepository(session).add(charge)
        await _failed(session, subscription, charge, now)
        return None
    charge.order_id = order.id
    SubscriptionRepository(session).add(charge)
    subscription.pending_order_id = order.id
    subscription.due_at = now + FOLLOW
    subscription.updated_at = now
    await session.flush()  # the unique charge row: a second worker fails here, and rolls back
    return order.id


def charge_request(subscription: Subscription) -> PlaceOrder:
    """A renewal is paid with the subscription's saved card. The duplicate-recipient check
    is for a customer who clicked twice; a renewal was agreed in advance, so it is confirmed."""
    return PlaceOrder(
        recipient_phone=subscription.recipient_phone,
        product_id=subscription.plan_id,
        amount=None,
        amount_currency=None,
        card_id=subscription.card_id,
        new_card=None,
        message=None,
        confirm_duplicate=True,
        subscription=True,
    )


async def follow(session: AsyncSession, subscription: Subscription, now: datetime) -> None:
    """Look at the charge's order: still moving, or ended (then record how)."""
    assert subscription.pending_order_id is not None
    order = await OrderRepository(session).order(subscription.pending_order_id)
    if order is None:  # never: the order and the charge commit together
        raise LookupError(f"order {subscription.pending_order_id} is missing")
    if order.status in {status.value for status in ACTIVE_STATUSES}:
        subscription.due_at = now + FOLLOW
        return
    charge = await SubscriptionRepository(session).charge_for_order(order.id)
    assert charge is not None
    charge.settled_at = now
    subscription.pending_order_id = None
    subscription.last_order_id = order.id
    subscription.updated_at = now
    if order.status == OrderStatus.succeeded:
        charge.status = ChargeStatus.succeeded.value
        _paid(subscription, charge, order, now)
        return
    charge.status = ChargeStatus.failed.value
    charge.failure_code = order.failure_code or order.status
    await _failed(session, subscription, charge, now)


def _paid(
    subscription: Subscription, charge: SubscriptionCharge, order: Order, now: datetime
) -> None:
    subscription.failure_code = None
    subscription.price_amount = order.price_amount
    subscription.local_amount = order.local_amount
    subscription.cycle = charge.cycle
    subscription.current_period_start = charge.period_start
    subscription.current_period_end = charge.period_end
    if subscription.status == SubscriptionStatus.cancelled:  # the owed cycle: nothing after
        _no_more_charges(subscription)
        return
    subscription.status = SubscriptionStatus.active.value
    resume_service(subscription)  # a suspended plan paid again runs again
    subscription.next_charge_at = charge.period_end
    subscription.next_cycle = cycle_of(charge.period_end)
    subscription.next_attempt = 0
    subscription.due_at = charge.period_end


async def _failed(
    session: AsyncSession, subscription: Subscription, charge: SubscriptionCharge, now: datetime
) -> None:
    subscription.failure_code = charge.failure_code
    subscription.updated_at = now
    if subscription.status == SubscriptionStatus.cancelled:
        _no_more_charges(subscription)
        return
    if not charge.renewal:  # the first charge failed: the plan never started
        subscription.status = SubscriptionStatus.incomplete_expired.value
        subscription.ended_reason = charge.failure_code
        subscription.open_key = None
        stop_service(subscription, now)
        _no_more_charges(subscription)
        return
    if charge.attempt < len(RETRY_DELAYS):
        subscription.status = SubscriptionStatus.past_due.value
        subscription.next_cycle = charge.cycle
        subscription.next_attempt = charge.attempt + 1
        subscription.next_charge_at = now + RETRY_DELAYS[charge.attempt]
        subscription.due_at = subscription.next_charge_at
        return
    subscription.status = SubscriptionStatus.suspended.value
    stop_service(subscription, now)  # the worker tells the supplier once this commits
    subscription.next_cycle = charge.cycle
    subscription.next_attempt = charge.attempt + 1  # a new card resumes with this attempt
    subscription.next_charge_at = None
    subscription.due_at = None
    await subscription_messages.subscription_suspended(session, subscription)
