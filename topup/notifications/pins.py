"""The messages of a delivered voucher or calling card: the buyer's receipt with the PIN
and serial (and for a calling card its balance and how to use it), and an SMS with the PIN
to the recipient, saying who sent it.

Both carry the PIN, so their kinds are among the outbox's ``SECRET_ONCE_DELIVERED``
(``tasks.py``): once a real provider has delivered one, its text is erased from the outbox,
and the sealed copy in ``order_pins`` is the only one Topup keeps.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer
from topup.accounts.repository import AccountRepository
from topup.catalogue.models import ProductType
from topup.kit.i18n import (
    format_money,
    format_money_as_code,
    format_phone,
    language_for,
    locale_for,
)
from topup.notifications import service
from topup.notifications.models import Channel
from topup.notifications.orders import balance_code_of, order_facts
from topup.notifications.rendering import render, supported
from topup.notifications.segments import is_gsm7, sms_text
from topup.orders.models import Order
from topup.providers.suppliers.base import PinDelivery

BUYER_KIND, RECIPIENT_KIND = "pin_delivered", "pin_received"


async def pin_delivered(session: AsyncSession, order: Order, pin: PinDelivery) -> None:
    customer = await AccountRepository(session).customer(order.customer_id)
    await _buyer_email(session, order, customer, pin)
    await _recipient_sms(session, order, customer, pin)


async def _buyer_email(
    session: AsyncSession, order: Order, customer: Customer | None, pin: PinDelivery
) -> None:
    if customer is None or customer.email is None:  # the account was deleted meanwhile
        return
    dedupe_key = f"{order.id}:{BUYER_KIND}"
    if await service.already_queued(session, dedupe_key):
        return
    locale = locale_for(supported(customer.language), customer.country_iso2)
    service.email(
        session,
        kind=BUYER_KIND,
        to=customer.email,
        language=customer.language,
        customer_id=customer.id,
        dedupe_key=dedupe_key,
        first_name=customer.first_name,
        **order_facts(order, locale),
        calling_card=order.product_type == ProductType.calling_card,
        pin_code=pin.code,
        pin_serial=pin.serial,
        card_balance=(
            format_money(pin.balance, pin.currency, locale)
            if pin.balance is not None and pin.currency is not None
            else None
        ),
        access_number=format_phone(pin.access_number) if pin.access_number else None,
        instructions=pin.instructions,
        balance_code=await balance_code_of(session, order),
    )


async def _recipient_sms(
    session: AsyncSession, order: Order, customer: Customer | None, pin: PinDelivery
) -> None:
    if order.recipient_phone is None:
        return
    dedupe_key = f"{order.id}:{RECIPIENT_KIND}"
    if await service.already_queued(session, dedupe_key):
        return
    language = language_for(order.country_iso2)
    locale = locale_for(supported(language), order.country_iso2)
    with_symbol = format_money(order.local_amount, order.local_currency, locale)
    # As for the top-up SMS: a symbol outside GSM-7 would halve what one SMS holds.
    amount = (
        with_symbol
        if is_gsm7(sms_text(with_symbol))
        else format_money_as_code(order.local_amount, order.local_currency, locale)
    )
    body = sms_text(
        render(
            language,
            f"{RECIPIENT_KIND}.sms",
            sender=customer.first_name if customer else None,
            amount=amount,
            operator=order.operator_name,
            calling_card=order.product_type == ProductType.calling_card,
            pin_code=pin.code,
            access_number=pin.access_number,
            message=order.message,
        )
    )
    service.enqueue(
        session,
        channel=Channel.sms,
        kind=RECIPIENT_KIND,
        recipient=order.recipient_phone,
        body=body,
        language=language,
        customer_id=order.customer_id,
        dedupe_key=dedupe_key,
    )
