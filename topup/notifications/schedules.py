"""The email a schedule causes: it was paused (failed runs, a ported number, a removed
card), so the customer knows no more top-ups go until they act.

Queued in the transaction that pauses the schedule, under a key made of the schedule, its
due date and the attempt, so a pause recorded twice still sends one email.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.repository import AccountRepository
from topup.kit.i18n import format_money, format_phone, locale_for
from topup.notifications import service
from topup.notifications.rendering import supported
from topup.schedules.models import Schedule


async def schedule_paused(session: AsyncSession, schedule: Schedule, *, new_operator: str) -> None:
    customer = await AccountRepository(session).customer(schedule.customer_id)
    if customer is None or customer.email is None:  # the account was deleted meanwhile
        return
    dedupe_key = (
        f"{schedule.id}:schedule_paused:{schedule.next_run_at.isoformat()}"
        f":{schedule.failed_attempts}"
    )
    if await service.already_queued(session, dedupe_key):
        return
    locale = locale_for(supported(customer.language), customer.country_iso2)
    service.email(
        session,
        kind="schedule_paused",
        to=customer.email,
        language=customer.language,
        customer_id=customer.id,
        dedupe_key=dedupe_key,
        first_name=customer.first_name,
        reference=schedule.id,
        recipient=format_phone(schedule.recipient_phone or ""),
        operator=schedule.operator_name,
        new_operator=new_operator,
        local_value=format_money(schedule.local_amount, schedule.local_currency, locale),
        card=f"{schedule.card_brand.title()} •••• {schedule.card_last4}",
        reason=schedule.pause_reason,
        attempts=schedule.failed_attempts,
    )
