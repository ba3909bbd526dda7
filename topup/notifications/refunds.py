"""The emails a refund request causes: one when it is paid, one when it is rejected.

Each is queued in the transaction that records the decision or the payment, under a key
made of the request id and the event, so a step recorded twice still sends one email.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.repository import AccountRepository
from topup.kit.i18n import format_money, locale_for
from topup.notifications import service
from topup.notifications.rendering import supported
from topup.orders.models import Order
from topup.refunds.models import RefundRequest

EUR = "EUR"


async def refund_paid(
    session: AsyncSession, request: RefundRequest, order: Order, *, to_wallet: bool
) -> None:
    card = f"•••• {order.card_last4}" if order.card_last4 else ""
    await _email(session, request, "refund_paid", to_wallet=to_wallet, card=card)


async def refund_rejected(session: AsyncSession, request: RefundRequest) -> None:
    await _email(session, request, "refund_rejected")


async def _email(
    session: AsyncSession,
    request: RefundRequest,
    kind: str,
    *,
    to_wallet: bool = False,
    card: str = "",
) -> None:
    customer = await AccountRepository(session).customer(request.customer_id)
    if customer is None or customer.email is None:  # the account was deleted meanwhile
        return
    dedupe_key = f"{request.id}:{kind}"
    if await service.already_queued(session, dedupe_key):
        return
    locale = locale_for(supported(customer.language), customer.country_iso2)
    service.email(
        session,
        kind=kind,
        to=customer.email,
        language=customer.language,
        customer_id=customer.id,
        dedupe_key=dedupe_key,
        first_name=customer.first_name,
        reference=request.order_id,
        amount=format_money(request.amount, EUR, locale),
        fee=format_money(request.fee, EUR, locale),
        fee_charged=request.fee > 0,
        net=format_money(request.net, EUR, locale),
        reason=request.decision_reason or "",
        to_wallet=to_wallet,
        card=card,
    )
