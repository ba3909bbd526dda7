"""``/v1/plans`` (the catalogue's monthly plans) and ``/v1/subscriptions`` (Topup's
additions to API.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.auth import CurrentCustomer
from topup.idempotency import service as idempotency
from topup.kit.http import IdempotencyKeyHeader, RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.providers.payments.base import CardDetails
from topup.subscriptions import service
from topup.subscriptions.models import Subscription
from topup.subscriptions.placement import subscribe_once, subscription_out
from topup.subscriptions.repository import SubscriptionRepository
from topup.subscriptions.schemas import (
    BILLING,
    CardChangeIn,
    PlanList,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
)

plans_router = APIRouter(prefix="/v1/plans", tags=["plans"])
router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
SubscriptionId = Annotated[str, Path(pattern=r"^sub_[0-9a-f]{32}$")]


@plans_router.get("", response_model=PlanList, responses=error_responses(422))
async def list_plans(
    runtime: RuntimeDep,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    operator_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Response:
    """The monthly plans on sale, billed on the 1st of each month at 00:00 UTC."""
    snapshot = await runtime.catalogue.get()
    plans = service.plans(snapshot, country=country, operator_id=operator_id)
    data = [
        {
            "id": plan.id,
            "operator": {
                "id": plan.operator_id,
                "name": snapshot.operators[plan.operator_id].name,
            },
            "country": snapshot.operators[plan.operator_id].country_iso2,
            "local_value": {"amount": plan.local_value, "currency": plan.currency},
            "price": {"amount": plan.price, "currency": "EUR"},
            "description": plan.description,
            "billing": BILLING,
        }
        for plan in plans
    ]
    return json_response({"data": data, "next_cursor": None})


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 409, 422),
)
async def create_subscription(
    body: SubscriptionIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Subscribe a number to a plan. The first charge is placed at once (an order, shown
    in ``charges``) and covers the days left of this month in full, since the operator
    delivers the whole bundle; the next charge is on the 1st. Follow it with GET."""
    key = idempotency.checked_key(idempotency_key)
    card = body.card
    request = service.Subscribe(
        plan_id=body.plan_id,
        recipient_phone=body.recipient_phone,
        card_id=body.card_id,
        new_card=(
            None
            if card is None
            else CardDetails(card.number, card.exp_month, card.exp_year, card.cvc)
        ),
    )
    status_code, answer = await subscribe_once(
        runtime, customer, key, body.model_dump(mode="json"), request
    )
    return json_response(answer, status_code)


@router.get("", response_model=SubscriptionList, responses=error_responses(401, 422))
async def list_subscriptions(
    customer: CurrentCustomer,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """This customer's subscriptions, newest first, in pages."""
    rows = await SubscriptionRepository(session).page_of(
        customer.id, limit=limit + 1, after=decode_cursor(cursor)
    )
    page = rows[:limit]
    more = len(rows) > limit
    charges = await service.charges_of(session, [row.id for row in page])
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    data = [subscription_out(row, charges) for row in page]
    return json_response({"data": data, "next_cursor": next_cursor})


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 404, 422),
)
async def get_subscription(
    subscription_id: SubscriptionId, customer: CurrentCustomer, session: SessionDep
) -> Response:
    subscription = await service.own(session, customer, subscription_id)
    return await _answer(session, subscription)


@router.delete(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 404, 409, 422),
)
async def cancel_subscription(
    subscription_id: SubscriptionId, customer: CurrentCustomer, session: SessionDep
) -> Response:
    """Cancel: the service stops now and no cycle that begins later is charged. Answers
    200 with the subscription (not 204), since ``next_charge_at`` then says whether the
    cycle that already began is still to be charged. Cancelling again answers the same."""
    subscription = await service.cancel(session, customer, subscription_id)
    return await _answer(session, subscription)


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 404, 409, 422),
)
async def change_subscription_card(
    subscription_id: SubscriptionId,
    body: CardChangeIn,
    customer: CurrentCustomer,
    session: SessionDep,
) -> Response:
    """Charge another saved card. A plan waiting for a retry, or suspended, is charged
    again at once (by the worker, within its next round)."""
    subscription = await service.change_card(session, customer, subscription_id, body.card_id)
    return await _answer(session, subscription)


async def _answer(session: AsyncSession, subscription: Subscription) -> Response:
    """One subscription as JSON, with its charges."""
    charges = await service.charges_of(session, [subscription.id])
    return json_response(subscription_out(subscription, charges))
