"""The emails a monthly plan causes: a notice when failed renewals suspend it, and a
confirmation when it is cancelled. (Each charge is an order: its receipt is the order's.)

Each is queued in the transaction that records the change, under a key made of the
subscription and the event, so a step recorded twice still sends one email.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.repository import AccountRepository
from topup.kit.i18n import format_moment, format_money, format_phone, locale_for
from topup.notifications import service
from topup.notifications.rendering import supported
from topup.subscriptions.models import Subscription

EUR = "EUR"


async def subscription_suspended(session: AsyncSession, subscription: Subscription) -> None:
    await _email(
        session,
        subscription,
        "subscription_suspended",
        event=f"suspended:{subscription.next_cycle}:{subscription.next_attempt}",
    )


async def subscription_cancelled(
    session: AsyncSession, subscription: Subscription, *, charge_owed: bool
) -> None:
    """``charge_owed``: the cycle that began before the cancellation is still to be charged."""
    await _email(
        session, subscription, "subscription_cancelled", event="cancelled", charge_owed=charge_owed
    )


async def _email(
    session: AsyncSession,
    subscription: Subscription,
    kind: str,
    *,
    event: str,
    charge_owed: bool = False,
) -> None:
    customer = await AccountRepository(session).customer(subscription.customer_id)
    if customer is None or customer.email is None:  # the account was deleted meanwhile
        return
    dedupe_key = f"{subscription.id}:{event}"
    if await service.already_queued(session, dedupe_key):
        return
    locale = locale_for(supported(customer.language), customer.country_iso2)
    stopped = subscription.service_ends_at
    service.email(
        session,
        kind=kind,
        to=customer.email,
        language=customer.language,
        customer_id=customer.id,
        dedupe_key=dedupe_key,
        first_name=customer.first_name,
        reference=subscription.id,
        operator=subscription.operator_name,
        recipient=format_phone(subscription.recipient_phone),
        price=format_money(subscription.price_amount, EUR, locale),
        card=f"•••• {subscription.card_last4}" if subscription.card_last4 else "",
        stopped_at=format_moment(stopped, locale) if stopped else "",
        charge_owed=charge_owed,
        cycle=subscription.next_cycle or subscription.cycle,
    )
