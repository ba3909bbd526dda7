"""The messages an order causes: the receipt and the recipient's SMS when it succeeds, an
email when it fails, and one when the operator is slow to confirm.

Each is queued in the transaction that records the order's new state, under a key made of
the order id and the event, so an event recorded twice still has one message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel import Locale
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer
from topup.accounts.repository import AccountRepository
from topup.catalogue.models import ProductType
from topup.catalogue.repository import CatalogueRepository
from topup.kit import clock
from topup.kit.i18n import (
    format_moment,
    format_money,
    format_money_as_code,
    format_phone,
    language_for,
    locale_for,
)
from topup.notifications import service
from topup.notifications.models import Channel
from topup.notifications.rendering import render, supported
from topup.notifications.segments import count_segments, is_gsm7, sms_text
from topup.orders.models import Order, PaymentMethod

# A top-up usually lands in seconds; past this the buyer is told it is still on its way.
DELAY_NOTICE_AFTER = timedelta(minutes=10)


async def order_succeeded(session: AsyncSession, order: Order) -> None:
    customer = await AccountRepository(session).customer(order.customer_id)
    await _buyer_email(session, order, customer, "order_succeeded")
    await _recipient_sms(session, order, customer)


async def order_failed(session: AsyncSession, order: Order) -> None:
    customer = await AccountRepository(session).customer(order.customer_id)
    await _buyer_email(session, order, customer, "order_failed")


async def order_in_review(session: AsyncSession, order: Order, *, decided_within: int) -> None:
    """Held for review: the buyer learns the money is only reserved, and for how long
    (``decided_within`` hours)."""
    customer = await AccountRepository(session).customer(order.customer_id)
    await _buyer_email(session, order, customer, "order_in_review", hours=decided_within)


async def order_delayed(session: AsyncSession, order: Order) -> None:
    customer = await AccountRepository(session).customer(order.customer_id)
    await _buyer_email(session, order, customer, "order_delayed")


def order_facts(order: Order, locale: Locale) -> dict[str, Any]:
    """What every email about an order says of it (a receipt, a failure, a PIN), formatted
    in the buyer's ``locale``; the date is the event's: now, in its transaction."""
    return {
        "reference": order.id,
        "recipient": format_phone(order.recipient_phone or ""),
        "operator": order.operator_name,
        "local_value": format_money(order.local_amount, order.local_currency, locale),
        "price": format_money(order.price_amount, "EUR", locale),
        "vat": format_money(order.vat_amount, "EUR", locale),
        "card": card_label(order),
        "wallet": order.payment_method == PaymentMethod.wallet,
        "date": format_moment(clock.now(), locale),
        "message": order.message,
    }


async def _buyer_email(
    session: AsyncSession,
    order: Order,
    customer: Customer | None,
    kind: str,
    *,
    hours: int | None = None,
) -> None:
    if customer is None or customer.email is None:  # the account was deleted meanwhile
        return
    dedupe_key = f"{order.id}:{kind}"
    if await service.already_queued(session, dedupe_key):
        return
    locale = locale_for(supported(customer.language), customer.country_iso2)
    balance_code = await balance_code_of(session, order)
    service.email(
        session,
        kind=kind,
        to=customer.email,
        language=customer.language,
        customer_id=customer.id,
        dedupe_key=dedupe_key,
        first_name=customer.first_name,
        **order_facts(order, locale),
        balance_code=balance_code,
        failure_code=order.failure_code,
        hours=hours,
    )


async def _recipient_sms(session: AsyncSession, order: Order, customer: Customer | None) -> None:
    if order.recipient_phone is None:
        return
    dedupe_key = f"{order.id}:topup_received"
    if await service.already_queued(session, dedupe_key):
        return
    language = language_for(order.country_iso2)
    body = recipient_sms_body(
        language,
        region=order.country_iso2,
        sender=customer.first_name if customer else None,
        amount=order.local_amount,
        currency=order.local_currency,
        operator=order.operator_name,
        message=order.message,
        balance_code=await balance_code_of(session, order),
        plan=order.product_type == ProductType.plan,
    )
    service.enqueue(
        session,
        channel=Channel.sms,
        kind="topup_received",
        recipient=order.recipient_phone,
        body=body,
        language=language,
        customer_id=order.customer_id,
        dedupe_key=dedupe_key,
    )


def recipient_sms_body(
    language: str,
    *,
    region: str | None,
    sender: str | None,
    amount: int,
    currency: str,
    operator: str,
    message: str | None,
    balance_code: str | None,
    plan: bool = False,
) -> str:
    """The richest wording that fits one SMS: the operator's name goes first, then the
    balance code; the amount, the sender and their message always stay. A ``plan`` is
    named as the monthly plan it is, not as credit."""
    locale = locale_for(supported(language), region)
    with_symbol = format_money(amount, currency, locale)
    # "₦" or "F CFA" would push the whole text into UCS-2, at 70 characters an SMS.
    shown = (
        with_symbol
        if is_gsm7(sms_text(with_symbol))
        else format_money_as_code(amount, currency, locale)
    )
    variants = [(True, True), (False, True), (False, False)]
    if not balance_code:
        variants = [(True, False), (False, False)]
    text = ""
    for with_operator, with_balance_code in variants:  # rendered only until one fits
        text = sms_text(
            render(
                language,
                "topup_received.sms",
                sender=sender,
                amount=shown,
                operator=operator,
                message=message,
                balance_code=balance_code,
                with_operator=with_operator,
                with_balance_code=with_balance_code,
                plan=plan,
            )
        )
        if count_segments(text).segments == 1:
            break
    return text  # the one that fits, or the shortest wording there is


def card_label(order: Order) -> str:
    brand = {"visa": "Visa", "mastercard": "Mastercard"}.get(order.card_brand or "", "")
    return f"{brand} •••• {order.card_last4 or '????'}".strip()


async def balance_code_of(session: AsyncSession, order: Order) -> str | None:
    operator = await CatalogueRepository(session).operator(order.operator_id)
    return operator.balance_check_code if operator else None
