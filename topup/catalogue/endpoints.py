"""``/v1/countries``, ``/v1/countries/{iso2}/operators``, ``/v1/operators/{id}/products``,
and the staff's ``/v1/admin/operator-promotions``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from topup.accounts.auth import require_role
from topup.accounts.models import Customer, Role
from topup.catalogue import promotions
from topup.catalogue.models import OperatorPromotion
from topup.catalogue.schemas import (
    CountryList,
    OperatorList,
    ProductList,
    PromotionIn,
    PromotionListOut,
    PromotionOut,
    PromotionPatch,
)
from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.errors import NotFound
from topup.kit.http import RuntimeDep, SessionDep, cached_json, json_response
from topup.kit.pagination import decode_cursor, encode_cursor
from topup.kit.schemas import error_responses

router = APIRouter(prefix="/v1", tags=["catalogue"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Staff = Annotated[Customer, Depends(require_role(Role.support, Role.admin))]
Admin = Annotated[Customer, Depends(require_role(Role.admin))]
PromotionId = Annotated[str, Path(pattern=r"^opr_[0-9a-f]{32}$")]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]
OperatorFilter = Annotated[str | None, Query(max_length=64)]
CATALOGUE_MAX_AGE = 300
# The catalogue answers carry an ETag: a client sending it back in If-None-Match gets 304.
NOT_MODIFIED: dict[int | str, dict[str, str]] = {304: {"description": "Not modified"}}


@router.get("/countries", response_model=CountryList, responses=NOT_MODIFIED | error_responses())
async def list_countries(request: Request, runtime: RuntimeDep) -> Response:
    snapshot = await runtime.catalogue.get()
    body = snapshot.rendered(
        "countries",
        lambda: {
            "data": [
                country.as_json()
                for country in sorted(snapshot.countries.values(), key=lambda entry: entry.name)
                if country.enabled and snapshot.operators_of(country.iso2)
            ],
            "next_cursor": None,
        },
    )
    return cached_json(request, body, max_age=CATALOGUE_MAX_AGE)


@router.get(
    "/countries/{iso2}/operators",
    response_model=OperatorList,
    responses=NOT_MODIFIED | error_responses(404, 422),
)
async def list_operators(iso2: str, request: Request, runtime: RuntimeDep) -> Response:
    snapshot = await runtime.catalogue.get()
    country = snapshot.served_country(iso2.upper())
    if country is None:
        raise NotFound(
            f"We do not serve a country with the code {iso2!r}.",
            code="country_not_found",
            field="iso2",
        )
    body = snapshot.rendered(
        f"operators:{country.iso2}",
        lambda: {
            "data": [operator.as_json() for operator in snapshot.operators_of(country.iso2)],
            "next_cursor": None,
        },
    )
    return cached_json(request, body, max_age=CATALOGUE_MAX_AGE)


@router.get(
    "/operators/{operator_id}/products",
    response_model=ProductList,
    responses=NOT_MODIFIED | error_responses(404, 422),
)
async def list_products(operator_id: str, request: Request, runtime: RuntimeDep) -> Response:
    snapshot = await runtime.catalogue.get()
    operator = snapshot.available_operator(operator_id)
    if operator is None:
        raise NotFound(
            f"No operator {operator_id!r} is on sale.",
            code="operator_not_found",
            field="operator_id",
        )
    body = snapshot.rendered(
        f"products:{operator.id}",
        lambda: {
            "data": snapshot.products_json(operator.id),
            "next_cursor": None,
        },
    )
    # A shared cache must not keep showing a promotion past its end (or miss its start).
    until_change = snapshot.seconds_until_change(clock.now())
    max_age = CATALOGUE_MAX_AGE if until_change is None else min(CATALOGUE_MAX_AGE, until_change)
    return cached_json(request, body, max_age=int(max_age))


# ---- operator promotions, for staff ---------------------------------------------------------


def promotion_out(row: OperatorPromotion) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PromotionOut.model_fields}


@admin_router.get(
    "/operator-promotions",
    response_model=PromotionListOut,
    responses=error_responses(401, 403, 422),
)
async def list_promotions(
    staff: Staff,
    session: SessionDep,
    operator_id: OperatorFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Every operator promotion, synced or entered by hand, newest first."""
    rows = await promotions.promotion_page(
        session, operator_id=operator_id, limit=limit + 1, after=decode_cursor(cursor)
    )
    page = list(rows[:limit])
    more = len(rows) > limit and page
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return json_response({"data": [promotion_out(row) for row in page], "next_cursor": next_cursor})


@admin_router.post(
    "/operator-promotions",
    status_code=201,
    response_model=PromotionOut,
    responses=error_responses(401, 403, 422),
)
async def create_promotion(body: PromotionIn, admin: Admin, runtime: RuntimeDep) -> Response:
    """An operator promotion entered by hand (one no supplier publishes)."""
    async with unit_of_work(runtime.session_factory) as session:
        row = await promotions.create_promotion(session, body)
        answer = promotion_out(row)
    runtime.catalogue.invalidate()  # committed: this node shows it at once
    return json_response(answer, status_code=201)


@admin_router.patch(
    "/operator-promotions/{promotion_id}",
    response_model=PromotionOut,
    responses=error_responses(401, 403, 404, 422),
)
async def update_promotion(
    promotion_id: PromotionId, body: PromotionPatch, admin: Admin, runtime: RuntimeDep
) -> Response:
    """Change a promotion entered by hand, or switch any off (`enabled: false`) or on."""
    async with unit_of_work(runtime.session_factory) as session:
        row = await promotions.update_promotion(session, promotion_id, body)
        answer = promotion_out(row)
    runtime.catalogue.invalidate()
    return json_response(answer)
