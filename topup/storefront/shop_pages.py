"""Buying, page by page: the number, the product, the review with payment, the order's status.

Each step is a plain HTML form, so the whole purchase works without JavaScript; htmx adds
the live check of the number on the first page and the live status on the last.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Response

from topup.idempotency import service as idempotency
from topup.kit.errors import AppError, InvalidInput, NotFound
from topup.lookup.service import look_up_number
from topup.orders.endpoints import OrderId
from topup.orders.lifecycle import drive
from topup.orders.models import Order
from topup.orders.placement import Placed, place_once
from topup.orders.repository import OrderRepository
from topup.orders.service import NewCard, PlaceOrder
from topup.payments.service import cards_of
from topup.pins import service as pins
from topup.pins.service import pin_sealer
from topup.providers.payments.base import CardDetails
from topup.storefront.service import (
    Offer,
    country_menu,
    is_final,
    offer_for,
    promotions_shown,
)
from topup.storefront.web import (
    Visitor,
    VisitorDep,
    checked_form,
    field_errors,
    full_path,
    page,
    redirect,
)
from topup.wallet.accounting import balance_of

router = APIRouter(include_in_schema=False)
PageText = Annotated[str, Query(max_length=200)]
PAY_SCOPE = "storefront: pay"
WALLET_CHOICE = "wallet"  # the "Pay with" choice that pays from the wallet
# The API's names for the fields of an order, and the form fields that hold them.
ORDER_FIELDS = {
    "recipient_phone": "phone",
    "amount": "amount",
    "message": "message",
    "payment.card.number": "card_number",
    "payment.card.exp_month": "exp_month",
    "payment.card.exp_year": "exp_year",
    "payment.card.cvc": "cvc",
    "payment.card_id": "card",
    "payment.wallet": "card",
    "payment": "card",
}


@router.get("/")
async def home(
    person: VisitorDep, country: PageText = "", phone: PageText = "", deleted: PageText = ""
) -> Response:
    snapshot = await person.runtime.catalogue.get()
    countries = country_menu(snapshot, person.language)
    form = {"country": country, "phone": phone}
    notice = "deleted" if deleted and person.customer is None else None
    return page(person, "home.html", countries=countries, form=form, errors={}, notice=notice)


@router.get("/topup")
async def choose_product(
    person: VisitorDep, country: PageText = "", phone: PageText = "", product_id: PageText = ""
) -> Response:
    snapshot = await person.runtime.catalogue.get()
    try:
        found = await look_up_number(
            snapshot, person.runtime.number_lookup, phone=phone, country=country or None
        )
    except InvalidInput as error:
        return page(
            person,
            "home.html",
            status_code=422,
            countries=country_menu(snapshot, person.language),
            form={"country": country, "phone": phone},
            errors=field_errors(error, {"phone": "phone", "country": "country"}),
            notice=None,
        )
    return page(
        person,
        "products.html",
        found=found,
        promotions=promotions_shown(snapshot, found),
        chosen=product_id,
        amount="",
        errors={},
    )


@router.get("/topup/check")
async def check_number(
    person: VisitorDep, country: PageText = "", phone: PageText = ""
) -> Response:
    """The live line under the number field: who serves it, or what is wrong with it."""
    if len(phone.strip()) < 4:
        return page(person, "_number_check.html", found=None, error=None)
    snapshot = await person.runtime.catalogue.get()
    try:
        found = await look_up_number(
            snapshot, person.runtime.number_lookup, phone=phone, country=country or None
        )
    except InvalidInput as error:
        return page(person, "_number_check.html", found=None, error=error)
    return page(person, "_number_check.html", found=found, error=None)


def _login_first(person: Visitor, back_to: str | None = None) -> Response | None:
    """Send a visitor who cannot buy yet to log in or to confirm their phone, and back
    (to ``back_to``, else to this page: a form post comes back to the page it came from)."""
    back = quote(back_to or full_path(person.request), safe="")
    if person.customer is None:
        return redirect(person, f"/login?next={back}")
    if person.customer.phone_verified_at is None:
        return redirect(person, f"/verify?next={back}")
    return None


@router.get("/topup/review")
async def review(
    person: VisitorDep, phone: PageText = "", product_id: PageText = "", amount: PageText = ""
) -> Response:
    detour = _login_first(person)
    if detour is not None:
        return detour
    snapshot = await person.runtime.catalogue.get()
    try:
        offer = await offer_for(
            snapshot,
            person.runtime.number_lookup,
            phone=phone,
            product_id=product_id,
            amount_text=amount or None,
        )
    except InvalidInput as error:
        return await _products_again(person, phone, product_id, amount, error)
    return await _review_page(person, offer, form={}, errors={})


async def _products_again(
    person: Visitor, phone: str, product_id: str, amount: str, error: InvalidInput
) -> Response:
    snapshot = await person.runtime.catalogue.get()
    try:
        found = await look_up_number(snapshot, person.runtime.number_lookup, phone=phone)
    except InvalidInput as phone_error:
        return page(
            person,
            "home.html",
            status_code=422,
            countries=country_menu(snapshot, person.language),
            form={"country": "", "phone": phone},
            errors=field_errors(phone_error, {"phone": "phone"}),
            notice=None,
        )
    errors = field_errors(error, {"amount": "amount", "product_id": ""})
    return page(
        person,
        "products.html",
        status_code=422,
        found=found,
        promotions=promotions_shown(snapshot, found),
        chosen=product_id,
        amount=amount,
        errors=errors,
    )


async def _review_page(
    person: Visitor,
    offer: Offer,
    *,
    form: dict[str, str],
    errors: dict[str, AppError],
    status_code: int = 200,
    ask_duplicate: bool = False,
) -> Response:
    customer = person.require_customer()
    async with person.runtime.session_factory() as session:
        cards = list(await cards_of(session, customer))
        wallet = await balance_of(session, customer.id)
    return page(
        person,
        "review.html",
        status_code=status_code,
        offer=offer,
        cards=cards,
        wallet=wallet,
        form=form,
        errors=errors,
        ask_duplicate=ask_duplicate,
        # A new key for each showing of the form: the same form posted twice (a double
        # click, a reload) is one order; a corrected form after a refusal is a new try.
        idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(24),
    )


@router.post("/topup/pay")
async def pay(person: VisitorDep) -> Response:
    form = await checked_form(person)
    review_again = "/topup/review?" + urlencode(
        {name: form.get(name, "") for name in ("phone", "product_id", "amount") if form.get(name)}
    )
    detour = _login_first(person, review_again)
    if detour is not None:
        return detour
    customer = person.require_customer()
    snapshot = await person.runtime.catalogue.get()
    try:
        offer = await offer_for(
            snapshot,
            person.runtime.number_lookup,
            phone=form.get("phone", ""),
            product_id=form.get("product_id", ""),
            amount_text=form.get("amount") or None,
        )
    except InvalidInput as error:
        return await _products_again(
            person, form.get("phone", ""), form.get("product_id", ""), form.get("amount", ""), error
        )
    kept = {name: value for name, value in form.items() if name not in {"card_number", "cvc"}}
    try:
        request = _order_request(form, offer)
        key = idempotency.checked_key(form.get("idempotency_key"))
        placed = await place_once(
            person.runtime, customer, key, PAY_SCOPE, _fingerprinted(form), request
        )
    except AppError as error:
        # The card number and security code are never written back into the page.
        return await _review_page(
            person,
            offer,
            form=kept,
            errors=field_errors(error, ORDER_FIELDS),
            status_code=error.status_code,
            ask_duplicate=error.code == "duplicate_recipient",
        )
    return to_order(person, placed)


def _fingerprinted(form: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in sorted(form.items())}


def _order_request(form: dict[str, str], offer: Offer) -> PlaceOrder:
    if form.get("confirm_number") != "yes":
        raise InvalidInput(
            "Confirm that the number is right.", code="confirm_number", field="confirm_number"
        )
    card_id = form.get("card_id", "new")
    from_wallet = card_id == WALLET_CHOICE
    new_card = (
        None if card_id != "new" else NewCard(_card_details(form), form.get("save_card") == "yes")
    )
    return PlaceOrder(
        recipient_phone=offer.found.e164,
        product_id=offer.product.id,
        amount=offer.local_amount,
        amount_currency=offer.product.currency,
        card_id=None if card_id == "new" or from_wallet else card_id,
        new_card=new_card,
        message=form.get("message") or None,
        confirm_duplicate=form.get("confirm_duplicate") == "yes",
        wallet=from_wallet,
    )


def _card_details(form: dict[str, str]) -> CardDetails:
    return CardDetails(
        form.get("card_number", ""),
        _whole_number(form.get("exp_month", ""), "payment.card.exp_month", "invalid_expiry"),
        _whole_number(form.get("exp_year", ""), "payment.card.exp_year", "invalid_expiry"),
        form.get("cvc", ""),
    )


def _whole_number(text: str, field: str, code: str) -> int:
    cleaned = text.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 4:
        raise InvalidInput("Type digits only.", code=code, field=field)
    return int(cleaned)


def to_order(person: Visitor, placed: Placed) -> Response:
    if placed.order_id is not None:  # the fast path, detached as the API's is
        person.runtime.detached.start(
            drive(person.runtime.order_deps(), placed.order_id), name="order"
        )
    body: Any = placed.body
    order_id = body.get("id") if isinstance(body, dict) else None
    if placed.status_code != 201 or not isinstance(order_id, str):
        return redirect(person, "/purchases")
    return redirect(person, f"/orders/{order_id}")


async def _order_of(person: Visitor, order_id: str) -> Order:
    customer = person.require_customer()
    async with person.runtime.session_factory() as session:
        order = await OrderRepository(session).order_of(customer.id, order_id)
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


async def _order_context(person: Visitor, order: Order) -> dict[str, Any]:
    snapshot = await person.runtime.catalogue.get()
    operator = snapshot.operators.get(order.operator_id)
    runtime = person.runtime
    async with runtime.session_factory() as session:  # the page's owner reads their own PIN
        shown = await pins.pin_for_owner(
            session, pin_sealer(runtime.settings.secret_key), runtime.supplier, order
        )
    return {
        "order": order,
        "final": is_final(order.status),
        "balance_code": operator.balance_check_code if operator else None,
        "pin": shown.pin,
    }


@router.get("/orders/{order_id}")
async def order_page(order_id: OrderId, person: VisitorDep) -> Response:
    if person.customer is None:
        return redirect(person, f"/login?next={quote(f'/orders/{order_id}', safe='')}")
    order = await _order_of(person, order_id)
    return page(person, "order.html", **await _order_context(person, order))


@router.get("/orders/{order_id}/status")
async def order_status(order_id: OrderId, person: VisitorDep) -> Response:
    """The status box alone, which htmx swaps in every second until the order ends."""
    order = await _order_of(person, order_id)
    return page(person, "_order_status.html", **await _order_context(person, order))
