"""Placing an order exactly once under an idempotency key, and the order as JSON.

The API, the storefront's pages and the worker (a scheduled top-up, a plan's renewal) all
place orders through :func:`place_once`: the key makes a retried request, or a second
worker on the same due row, answer with the order the first one placed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer
from topup.idempotency import service as idempotency
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError
from topup.lookup.service import LookupResult
from topup.orders.models import Order
from topup.orders.schemas import OrderOut
from topup.orders.service import PlaceOrder, place_order
from topup.pins.schemas import PinOut
from topup.promotions import service as promotions
from topup.risk import audit
from topup.runtime import Runtime

# Refusals by a risk rule that answer with an error rather than a rejected order: the
# audit log keeps them too.
AUDITED_REFUSALS = frozenset(
    {"account_blocked", "card_blocked", "duplicate_recipient", "profile_incomplete"}
)

# Run first in the order's transaction; raises an AppError to refuse the placement.
Guard = Callable[[AsyncSession], Awaitable[None]]


def order_out(
    order: Order, *, pin: PinOut | None = None, pin_unavailable: bool = False
) -> dict[str, Any]:
    """The order as JSON; ``pin`` only for its owner reading that one order."""
    return OrderOut(
        id=order.id,
        status=order.status,
        recipient_phone=order.recipient_phone,
        operator={"id": order.operator_id, "name": order.operator_name},
        product_id=order.product_id,
        local_value={"amount": order.local_amount, "currency": order.local_currency},
        price={"amount": order.price_amount, "currency": "EUR"},
        message=order.message,
        payment={
            "method": order.payment_method,
            "status": order.payment_status,
            "card_last4": order.card_last4,
        },
        failure_code=order.failure_code,
        failure_message=order.failure_message,
        created_at=order.created_at,
        updated_at=order.updated_at,
        product_type=order.product_type,
        pin=pin,
        pin_unavailable=pin_unavailable,
        discount=(
            {"amount": order.discount_amount, "currency": "EUR"} if order.discount_amount else None
        ),
        promo_code=order.promo_code,
    ).model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class Placed:
    """The answer to a placement: the stored one when the key was seen before."""

    status_code: int
    body: Any
    order_id: str | None  # set when this call placed the order: it is to be driven now


async def place_once(
    runtime: Runtime,
    customer: Customer,
    key: str,
    scope: str,
    fingerprint_body: Any,
    request: PlaceOrder,
    *,
    found: LookupResult | None = None,
    guard: Guard | None = None,
) -> Placed:
    """Place an order under an idempotency key: the API and the pages both come here.

    The worker passes ``found``, the recipient it looked up beforehand, and a ``guard``
    run first in the order's transaction (a scheduled run locks its schedule and checks
    it is still active): with the lookup made before, that lock is held across no call
    to the supplier. A guard refuses by raising an :class:`AppError`."""
    claimed = await idempotency.claim_request(
        runtime.session_factory,
        secret=runtime.settings.secret_key,
        customer_id=customer.id,
        key=key,
        scope=scope,
        body=fingerprint_body,
    )
    if isinstance(claimed, idempotency.Replay):
        return Placed(claimed.status_code, claimed.body, None)
    try:
        if request.promo_code is not None:
            # A refused code frees the key for another try: each code tried counts against
            # the preview's limit, before it is looked at, so a burst of guesses sent at
            # once is cut off at the limit too (counting only refusals would see them late).
            await runtime.limiter.hit(promotions.TRIES, customer.id)
        async with (
            idempotency.released_on_outage(runtime.session_factory, runtime.detached, claimed),
            unit_of_work(runtime.session_factory) as session,
        ):
            if guard is not None:
                await guard(session)
            order = await place_order(
                session,
                snapshot=await runtime.catalogue.get(),
                number_lookup=runtime.number_lookup,
                gateway=runtime.payment_gateway,
                customer=customer,
                request=request,
                found=found,
            )
            answer = order_out(order)
            # Raises when a retry took the key over: this order then rolls back.
            await idempotency.complete(session, claimed, status_code=201, body=answer)
    except AppError as refusal:
        await refused(runtime, claimed, refusal, kind="order", phone=request.recipient_phone)
        raise
    return Placed(201, answer, order.id)


async def refused(
    runtime: Runtime,
    claimed: idempotency.Claim,
    refusal: AppError,
    *,
    kind: str,
    phone: str | None,
) -> None:
    """A request refused before anything was done (an order, a subscription): its key is
    free for a corrected request, and a risk rule's refusal is written to the audit log
    apart, since the request's own transaction rolled back."""
    await idempotency.release(runtime.session_factory, claimed)
    if refusal.code in AUDITED_REFUSALS:
        async with unit_of_work(runtime.session_factory) as session:
            audit.record(
                session,
                kind=kind,
                outcome=refusal.code,
                customer_id=claimed.customer_id,
                inputs={"recipient_phone": phone, "field": refusal.field},
            )
