"""After buying: "My purchases" with a repeat button on each, and the saved cards."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from topup.idempotency import service as idempotency
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError, InvalidInput
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.orders.endpoints import OrderId, repeat_request
from topup.orders.models import Order
from topup.orders.placement import place_once
from topup.orders.repository import OrderRepository
from topup.payments.service import cards_of, remove_card
from topup.storefront.shop_pages import to_order
from topup.storefront.web import Visitor, VisitorDep, checked_form, page, redirect

router = APIRouter(include_in_schema=False)
CardId = Annotated[str, Path(max_length=60)]
PAGE_SIZE = 20


async def _purchases_page(
    person: Visitor,
    cursor: str | None,
    *,
    errors: dict[str, AppError] | None = None,
    duplicate_of: str | None = None,
    duplicate_error: AppError | None = None,
    status_code: int = 200,
) -> Response:
    customer = person.require_customer()
    errors = dict(errors or {})
    try:
        after = decode_cursor(cursor)
    except InvalidInput as error:
        errors[""] = error
        after = None
    async with person.runtime.session_factory() as session:
        rows = await OrderRepository(session).page_of(customer.id, limit=PAGE_SIZE + 1, after=after)
    orders: list[Order] = list(rows[:PAGE_SIZE])
    more = len(rows) > PAGE_SIZE
    next_cursor = encode_cursor(orders[-1].created_at, orders[-1].id) if more else None
    return page(
        person,
        "purchases.html",
        status_code=status_code,
        orders=orders,
        next_cursor=next_cursor,
        errors=errors,
        duplicate_of=duplicate_of,
        duplicate_error=duplicate_error,
        repeat_keys={order.id: secrets.token_urlsafe(24) for order in orders},
    )


def _to_login(person: Visitor, back: str) -> Response:
    return redirect(person, f"/login?next={back}")


@router.get("/purchases")
async def purchases(
    person: VisitorDep, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    if person.customer is None:
        return _to_login(person, "/purchases")
    return await _purchases_page(person, cursor)


@router.post("/orders/{order_id}/repeat")
async def repeat(order_id: OrderId, person: VisitorDep) -> Response:
    form = await checked_form(person)
    if person.customer is None:
        return _to_login(person, "/purchases")
    customer = person.customer
    confirm_duplicate = form.get("confirm_duplicate") == "yes"
    try:
        key = idempotency.checked_key(form.get("idempotency_key"))
        request = await repeat_request(person.runtime, customer, order_id, confirm_duplicate)
        placed = await place_once(
            person.runtime,
            customer,
            key,
            f"storefront: repeat {order_id}",
            {"confirm_duplicate": confirm_duplicate},
            request,
        )
    except AppError as error:
        if error.code == "duplicate_recipient":
            return await _purchases_page(
                person, None, duplicate_of=order_id, duplicate_error=error, status_code=409
            )
        return await _purchases_page(
            person, None, errors={"": error}, status_code=error.status_code
        )
    return to_order(person, placed)


@router.get("/cards")
async def cards(person: VisitorDep) -> Response:
    if person.customer is None:
        return _to_login(person, "/cards")
    async with person.runtime.session_factory() as session:
        saved = list(await cards_of(session, person.customer))
    return page(person, "cards.html", cards=saved)


@router.post("/cards/{card_id}/remove")
async def remove(card_id: CardId, person: VisitorDep) -> Response:
    await checked_form(person)
    if person.customer is None:
        return _to_login(person, "/cards")
    async with unit_of_work(person.runtime.session_factory) as session:
        await remove_card(session, person.customer, card_id)
    return redirect(person, "/cards")
