"""Subscribing exactly once under the customer's Idempotency-Key, as orders are placed.

The key is claimed in its own transaction; the subscription, its first charge's order and
the stored answer then commit together, so a retried request replays the answer and never
subscribes (or charges) twice. A refusal gives the key back for a corrected request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from topup.accounts.models import Customer
from topup.idempotency import service as idempotency
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError
from topup.orders.placement import refused
from topup.runtime import Runtime
from topup.subscriptions import service
from topup.subscriptions.billing import follow_first_charge
from topup.subscriptions.models import Subscription, SubscriptionCharge
from topup.subscriptions.schemas import BILLING, SubscriptionOut

SCOPE = "POST /v1/subscriptions"


def subscription_out(
    subscription: Subscription, charges: Sequence[SubscriptionCharge]
) -> dict[str, Any]:
    return SubscriptionOut(
        id=subscription.id,
        status=subscription.status,
        plan_id=subscription.plan_id,
        operator={"id": subscription.operator_id, "name": subscription.operator_name},
        recipient_phone=subscription.recipient_phone,
        price={"amount": subscription.price_amount, "currency": "EUR"},
        local_value={"amount": subscription.local_amount, "currency": subscription.local_currency},
        billing=BILLING,
        card_id=subscription.card_id,
        card_last4=subscription.card_last4,
        current_cycle=subscription.cycle,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        next_charge_at=subscription.next_charge_at,
        cancelled_at=subscription.cancelled_at,
        service_ends_at=subscription.service_ends_at,
        service_ended_confirmed_at=subscription.service_ended_confirmed_at,
        failure_code=subscription.failure_code,
        ended_reason=subscription.ended_reason,
        charges=[
            {
                "cycle": charge.cycle,
                "attempt": charge.attempt,
                "renewal": charge.renewal,
                "order_id": charge.order_id,
                "status": charge.status,
                "failure_code": charge.failure_code,
                "created_at": charge.created_at,
            }
            for charge in charges
            if charge.subscription_id == subscription.id
        ],
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    ).model_dump(mode="json")


async def subscribe_once(
    runtime: Runtime,
    customer: Customer,
    key: str,
    fingerprint_body: Any,
    request: service.Subscribe,
) -> tuple[int, Any]:
    """The answer to POST /v1/subscriptions: (status, body)."""
    claimed = await idempotency.claim_request(
        runtime.session_factory,
        secret=runtime.settings.secret_key,
        customer_id=customer.id,
        key=key,
        scope=SCOPE,
        body=fingerprint_body,
    )
    if isinstance(claimed, idempotency.Replay):
        return claimed.status_code, claimed.body
    try:
        async with (
            idempotency.released_on_outage(runtime.session_factory, runtime.detached, claimed),
            unit_of_work(runtime.session_factory) as session,
        ):
            subscription, order = await service.subscribe(
                session,
                snapshot=await runtime.catalogue.get(),
                number_lookup=runtime.number_lookup,
                gateway=runtime.payment_gateway,
                customer=customer,
                request=request,
            )
            await session.flush()
            charges = await service.charges_of(session, [subscription.id])
            answer = subscription_out(subscription, charges)
            await idempotency.complete(session, claimed, status_code=201, body=answer)
    except AppError as refusal:
        await refused(runtime, claimed, refusal, kind="subscription", phone=request.recipient_phone)
        raise
    if subscription.pending_order_id is not None:
        # The fast path, detached so the client's connection is free at once.
        runtime.detached.start(
            follow_first_charge(runtime, subscription.id, order.id), name="subscription"
        )
    return 201, answer
