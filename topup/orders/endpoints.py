"""``/v1/orders``: place an order (with an Idempotency-Key), list and read them, repeat one."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from pydantic import BaseModel

from topup.accounts.auth import CurrentCustomer
from topup.accounts.models import Customer
from topup.idempotency import service as idempotency
from topup.kit.errors import InvalidInput, NotFound, Unauthorized
from topup.kit.http import IdempotencyKeyHeader, RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.orders.lifecycle import drive
from topup.orders.models import PaymentMethod
from topup.orders.placement import order_out, place_once
from topup.orders.repository import OrderRepository
from topup.orders.schemas import OrderIn, OrderList, OrderOut, RepeatIn
from topup.orders.service import NewCard, PlaceOrder
from topup.orders.supplier_callbacks import CallbackEffect, supplier_reported
from topup.pins import service as pins
from topup.pins.service import pin_sealer
from topup.providers.payments.base import CardDetails
from topup.providers.suppliers.reloadly import WebhookRefused, read_webhook
from topup.runtime import Runtime

router = APIRouter(prefix="/v1/orders", tags=["orders"])
# Placing an order: not logged in, the wallet too small, a blocked account or card, no such
# product, a duplicate or a reused key, invalid input, too many promo codes tried.
PLACING = error_responses(401, 402, 403, 404, 409, 422, 429)
ORDER_ID = re.compile(r"^ord_[0-9a-f]{32}$")
OrderId = Annotated[str, Path(pattern=ORDER_ID.pattern)]


def request_from(body: OrderIn) -> PlaceOrder:
    card = body.payment.card
    new_card = (
        None
        if card is None
        else NewCard(
            CardDetails(card.number, card.exp_month, card.exp_year, card.cvc),
            body.payment.save_card,
        )
    )
    return PlaceOrder(
        recipient_phone=body.recipient_phone,
        product_id=body.product_id,
        amount=body.amount.amount if body.amount else None,
        amount_currency=body.amount.currency if body.amount else None,
        card_id=body.payment.card_id,
        new_card=new_card,
        message=body.message,
        confirm_duplicate=body.confirm_duplicate,
        wallet=bool(body.payment.wallet),
        promo_code=body.promo_code,
    )


async def _place(
    runtime: Runtime,
    customer: Customer,
    key: str,
    scope: str,
    fingerprint_body: Any,
    request: PlaceOrder,
) -> Response:
    placed = await place_once(runtime, customer, key, scope, fingerprint_body, request)
    if placed.order_id is not None:
        # The fast path, detached so the client's connection is free at once.
        runtime.detached.start(drive(runtime.order_deps(), placed.order_id), name="order")
    return json_response(placed.body, placed.status_code)


@router.post("", status_code=201, response_model=OrderOut, responses=PLACING)
async def create_order(
    body: OrderIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Buy a top-up. The answer comes at once with `created`; follow the order with GET."""
    key = idempotency.checked_key(idempotency_key)
    return await _place(
        runtime,
        customer,
        key,
        "POST /v1/orders",
        body.model_dump(mode="json"),
        request_from(body),
    )


async def repeat_request(
    runtime: Runtime, customer: Customer, order_id: str, confirm_duplicate: bool
) -> PlaceOrder:
    """The same recipient and product as an earlier order, paid the same way: from the
    wallet, or with the same saved card. A promo code is never applied again: each use of
    a code is its own choice at checkout."""
    async with runtime.session_factory() as session:
        previous = await OrderRepository(session).order_of(customer.id, order_id)
    if previous is None or previous.recipient_phone is None:
        raise NotFound("No such order.", code="order_not_found", field="order_id")
    paid_from_wallet = previous.payment_method == PaymentMethod.wallet
    if previous.card_id is None and not paid_from_wallet:
        raise InvalidInput(
            "That order was paid with a card that was not saved.",
            code="card_not_found",
            field="order_id",
        )
    return PlaceOrder(
        recipient_phone=previous.recipient_phone,
        product_id=previous.product_id,
        amount=previous.local_amount,
        amount_currency=previous.local_currency,
        card_id=None if paid_from_wallet else previous.card_id,
        new_card=None,
        message=None,
        confirm_duplicate=confirm_duplicate,
        wallet=paid_from_wallet,
    )


@router.post("/{order_id}/repeat", status_code=201, response_model=OrderOut, responses=PLACING)
async def repeat_order(
    order_id: OrderId,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyHeader = None,
    body: Annotated[RepeatIn | None, Body()] = None,
) -> Response:
    """The same recipient and product, paid with the same saved card. Within two minutes
    of the last top-up to that number, send ``{"confirm_duplicate": true}``."""
    key = idempotency.checked_key(idempotency_key)
    confirm_duplicate = body.confirm_duplicate if body is not None else False
    request = await repeat_request(runtime, customer, order_id, confirm_duplicate)
    fingerprinted = {"confirm_duplicate": confirm_duplicate}
    return await _place(
        runtime,
        customer,
        key,
        f"POST /v1/orders/{order_id}/repeat",
        fingerprinted,
        request,
    )


@router.get("", response_model=OrderList, responses=error_responses(401, 422))
async def list_orders(
    customer: CurrentCustomer,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """This customer's orders, newest first, in pages."""
    rows = await OrderRepository(session).page_of(
        customer.id, limit=limit + 1, after=decode_cursor(cursor)
    )
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return json_response({"data": [order_out(order) for order in page], "next_cursor": next_cursor})


@router.get("/{order_id}", response_model=OrderOut, responses=error_responses(401, 404, 422))
async def get_order(
    order_id: OrderId, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """The order; a delivered voucher or calling card carries its `pin` here (and only
    here: a list of orders is read far more often, and shows no PIN). A PIN that is kept
    but cannot be opened now shows as `pin: null` with `pin_unavailable: true`."""
    order = await OrderRepository(session).order_of(customer.id, order_id)
    if order is None:  # another customer's order is as absent as one never placed
        raise NotFound("No such order.", code="order_not_found", field="order_id")
    shown = await pins.pin_for_owner(
        session, pin_sealer(runtime.settings.secret_key), runtime.supplier, order
    )
    answer = json_response(order_out(order, pin=shown.pin, pin_unavailable=shown.unavailable))
    if shown.pin is not None:  # no cache on the way keeps a copy of the PIN
        answer.headers["Cache-Control"] = "no-store"
    return answer


# ---- the supplier's callbacks (an API addition: Reloadly posts here, not customers) --------

callbacks_router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])


class CallbackOut(BaseModel):
    received: bool
    effect: str


@callbacks_router.post(
    "/reloadly/callback", response_model=CallbackOut, responses=error_responses(401, 422)
)
async def reloadly_callback(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    signature: Annotated[str | None, Header(alias="X-Reloadly-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-Reloadly-Request-Timestamp")] = None,
) -> Response:
    """Reloadly's ``airtime_transaction.status`` webhook, signed with the webhook secret.
    It only makes the order due for a status check now; it never moves money."""
    secret = runtime.settings.reloadly_webhook_secret
    if secret is None:
        raise Unauthorized("No webhook secret is configured.", code="callback_refused")
    try:
        report = read_webhook(await request.body(), signature, timestamp, secret)
    except WebhookRefused as refused:
        raise Unauthorized(str(refused), code="callback_refused") from refused
    effect = CallbackEffect.ignored
    if report is not None and ORDER_ID.fullmatch(report.reference):
        effect = await supplier_reported(session, order_id=report.reference, status=report.status)
    # Reloadly retries until it gets a 200: every verified callback is acknowledged, also
    # one about an order we do not know, so a mistake on its side does not retry for hours.
    return json_response({"received": True, "effect": effect.value})
