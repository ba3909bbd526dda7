"""``/v1/admin/promo-codes`` for admins; ``/v1/promo-codes/preview`` for customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from topup.accounts.auth import CurrentCustomer, require_role
from topup.accounts.models import Customer, Role
from topup.kit.errors import NotFound
from topup.kit.http import RuntimeDep, SessionDep, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses
from topup.promotions import promo_admin
from topup.promotions import service as promotions
from topup.promotions.models import PromoCode
from topup.promotions.promo_preview import PreviewAsk, preview
from topup.promotions.repository import PromoRepository
from topup.promotions.schemas import (
    PreviewIn,
    PreviewOut,
    PromoCodeChange,
    PromoCodeIn,
    PromoCodeList,
    PromoCodeOut,
)

router = APIRouter(prefix="/v1/promo-codes", tags=["promotions"])
admin_router = APIRouter(prefix="/v1/admin/promo-codes", tags=["admin"])
Admin = Annotated[Customer, Depends(require_role(Role.admin))]
PromoCodeId = Annotated[str, Path(pattern=r"^promo_[0-9a-f]{32}$")]


def code_out(row: PromoCode, counts: dict[str, int] | None = None) -> dict[str, Any]:
    def eur(amount: int | None) -> dict[str, Any] | None:
        return None if amount is None else {"amount": amount, "currency": "EUR"}

    return PromoCodeOut(
        id=row.id,
        code=row.code,
        kind=row.kind,
        percent_off=None if row.percent_off is None else str(row.percent_off),
        amount_off=eur(row.amount_off),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        max_redemptions=row.max_redemptions,
        per_customer_limit=row.per_customer_limit,
        redeemed=row.redeemed,
        product_ids=row.product_ids,
        operator_ids=row.operator_ids,
        country_iso2s=row.country_iso2s,
        product_types=row.product_types,
        min_price=eur(row.min_price),
        customer_id=row.customer_id,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        redemptions=(
            None
            if counts is None
            else {status: counts.get(status, 0) for status in ("reserved", "used", "released")}
        ),
    ).model_dump(mode="json")


# ---- customers ------------------------------------------------------------------------------


@router.post("/preview", response_model=PreviewOut, responses=error_responses(401, 422, 429))
async def preview_code(
    body: PreviewIn, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """What the code takes off this product for this account, and the price to pay; or
    422 with `promo_code_not_found`, `promo_code_expired`, `promo_code_not_yet_valid`,
    `promo_code_exhausted`, `promo_code_limit_reached` or `promo_code_not_applicable`
    (field `promo_code`); 429 `rate_limited` after 30 codes tried in 10 minutes, here and
    on orders together. Nothing is reserved."""
    await runtime.limiter.hit(promotions.TRIES, customer.id)
    applied = await preview(
        session,
        snapshot=await runtime.catalogue.get(),
        number_lookup=runtime.number_lookup,
        customer_id=customer.id,
        ask=PreviewAsk(
            code=body.code,
            product_id=body.product_id,
            recipient_phone=body.recipient_phone,
            amount=body.amount.amount if body.amount else None,
            amount_currency=body.amount.currency if body.amount else None,
        ),
    )
    return json_response(
        {
            "code": applied.code.code,
            "list_price": {"amount": applied.list_price, "currency": "EUR"},
            "discount": {"amount": applied.discount, "currency": "EUR"},
            "price": {"amount": applied.price, "currency": "EUR"},
        }
    )


# ---- admins ---------------------------------------------------------------------------------


@admin_router.post(
    "", status_code=201, response_model=PromoCodeOut, responses=error_responses(401, 403, 409, 422)
)
async def create_code(
    body: PromoCodeIn, admin: Admin, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Issue a promo code (`promo_code_taken` if the code exists, in any case)."""
    snapshot = await runtime.catalogue.get()
    row = await promo_admin.create_code(session, snapshot, body, actor=admin.id)
    return json_response(code_out(row, {}), 201)


@admin_router.get("", response_model=PromoCodeList, responses=error_responses(401, 403, 422))
async def list_codes(
    admin: Admin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Every promo code, newest first."""
    rows = await PromoRepository(session).page(limit=limit + 1, after=decode_cursor(cursor))
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return json_response({"data": [code_out(row) for row in page], "next_cursor": next_cursor})


@admin_router.get(
    "/{code_id}", response_model=PromoCodeOut, responses=error_responses(401, 403, 404, 422)
)
async def get_code(code_id: PromoCodeId, admin: Admin, session: SessionDep) -> Response:
    """One code, with how many of its redemptions are reserved, used and released."""
    repository = PromoRepository(session)
    row = await repository.code(code_id)
    if row is None:
        raise NotFound("No such promo code.", code="promo_code_not_found", field="code_id")
    return json_response(code_out(row, await repository.redemption_counts(row.id)))


@admin_router.patch(
    "/{code_id}", response_model=PromoCodeOut, responses=error_responses(401, 403, 404, 422)
)
async def change_code(
    code_id: PromoCodeId, body: PromoCodeChange, admin: Admin, session: SessionDep
) -> Response:
    """Switch a code off or on, or change its dates or limits."""
    row = await promo_admin.change_code(session, code_id, body, actor=admin.id)
    counts = await PromoRepository(session).redemption_counts(row.id)
    return json_response(code_out(row, counts))
