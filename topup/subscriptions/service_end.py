"""Telling the supplier that a plan's service stopped, after the stop has committed.

A cancellation, a suspension or an account's deletion stops the service in our database at
once (``service_ends_at``) and sets ``service_end_due_at``; it never calls the supplier
inside its transaction (a slow or absent supplier must not hold the row's lock, nor undo
the customer's cancellation). The worker then takes the row with a lease of its own and:

1. reads which charge's bundle was still live when the service stopped (its order id is
   the supplier's reference); while a charge's order is in flight, or a charge the
   cancellation owes is still to be made, it waits, since that order may deliver a bundle;
2. calls ``end_plan`` with no transaction open;
3. records the moment the supplier answered in ``service_ended_confirmed_at``.

A crash between 2 and 3 lets the lease lapse and the step runs again: ``end_plan`` is
idempotent and answers the same moment, so what is recorded is what the first call did.
A supplier that cannot tell (down, or one that cannot end plans) is asked again after a
growing delay, for ever: until it answers, the plan's refund is refused
(``service_end_unconfirmed``), so a bundle still live is never paid back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.leases import run_leased
from topup.providers.suppliers.base import SupplierUnavailable
from topup.runtime import Runtime
from topup.subscriptions.models import Subscription, SubscriptionStatus
from topup.subscriptions.repository import ServiceEndQueue, SubscriptionRepository

LEASE = timedelta(minutes=2)
# While a charge that may deliver a bundle is in flight, look again after this.
WAIT = timedelta(minutes=1)
# A supplier that could not tell is asked again after 1, 2, 4, ... minutes, at most hourly.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
BATCH = 50
log = structlog.get_logger("topup.subscriptions")


@dataclass(frozen=True, slots=True)
class ToEnd:
    stopped_at: datetime
    reference: str | None  # None: no bundle was live, nothing to tell the supplier


def stop_service(subscription: Subscription, now: datetime) -> None:
    """The service stops now: record it, and have the worker tell the supplier."""
    subscription.service_ends_at = now
    subscription.service_ended_confirmed_at = None
    subscription.service_end_order_id = None
    subscription.service_end_attempts = 0
    subscription.service_end_due_at = now


def resume_service(subscription: Subscription) -> None:
    """A suspended plan paid again runs again: its stop is forgotten."""
    subscription.service_ends_at = None
    subscription.service_ended_confirmed_at = None
    subscription.service_end_order_id = None
    subscription.service_end_attempts = 0
    subscription.service_end_due_at = None


async def run_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """One round: every subscription whose stop is to be told is leased and stepped."""

    async def step(subscription_id: str) -> None:
        await end_at_supplier(runtime, subscription_id)

    return await run_leased(
        runtime.session_factory,
        ServiceEndQueue,
        step,
        lease=LEASE,
        limit=limit,
        failure_event="subscription_service_end_failed",
    )


async def end_at_supplier(runtime: Runtime, subscription_id: str) -> None:
    to_end = await _what_to_end(runtime, subscription_id)
    if to_end is None:
        return
    ended = to_end.stopped_at
    if to_end.reference is not None:
        try:
            ended = await runtime.supplier.end_plan(to_end.reference)
        except SupplierUnavailable as error:
            await _ask_again(runtime, subscription_id, str(error))
            return
    await _record(runtime, subscription_id, to_end, ended)


async def _what_to_end(runtime: Runtime, subscription_id: str) -> ToEnd | None:
    async with unit_of_work(runtime.session_factory) as session:
        repository = SubscriptionRepository(session)
        subscription = await repository.subscription(subscription_id, for_update=True)
        if subscription is None:
            return None
        stopped = subscription.service_ends_at
        if stopped is None or subscription.service_ended_confirmed_at is not None:
            subscription.service_end_due_at = None  # resumed, or told already
            return None
        now = clock.now()
        if _charge_may_deliver(subscription):
            subscription.service_end_due_at = now + WAIT
            return None
        charge = await repository.live_charge(subscription.id, at=stopped)
        return ToEnd(stopped, None if charge is None else charge.order_id)


def _charge_may_deliver(subscription: Subscription) -> bool:
    """A charge's order in flight, or a cycle a cancellation still owes (it began before
    the cancellation: ``billing.charge_owed``), may yet deliver a bundle to end."""
    owed = (
        subscription.status == SubscriptionStatus.cancelled
        and subscription.next_charge_at is not None
    )
    return subscription.pending_order_id is not None or owed


async def _ask_again(runtime: Runtime, subscription_id: str, reason: str) -> None:
    async with unit_of_work(runtime.session_factory) as session:
        subscription = await SubscriptionRepository(session).subscription(
            subscription_id, for_update=True
        )
        if subscription is None or subscription.service_ends_at is None:
            return
        delay = min(FIRST_RETRY * 2**subscription.service_end_attempts, LONGEST_RETRY)
        subscription.service_end_attempts += 1
        subscription.service_end_due_at = clock.now() + delay
        log.warning(
            "plan_end_unconfirmed",
            subscription_id=subscription_id,
            attempts=subscription.service_end_attempts,
            reason=reason,
        )


async def _record(runtime: Runtime, subscription_id: str, to_end: ToEnd, ended: datetime) -> None:
    async with unit_of_work(runtime.session_factory) as session:
        subscription = await SubscriptionRepository(session).subscription(
            subscription_id, for_update=True
        )
        # Resumed meanwhile (a suspended plan paid again): that stop no longer holds.
        if subscription is None or subscription.service_ends_at != to_end.stopped_at:
            return
        subscription.service_end_order_id = to_end.reference
        subscription.service_ended_confirmed_at = ended
        subscription.service_end_due_at = None
        subscription.updated_at = clock.now()
        log.info("plan_ended_at_supplier", subscription_id=subscription_id, ended_at=ended)
