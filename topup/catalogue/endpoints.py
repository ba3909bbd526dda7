"""``/v1/countries``, ``/v1/countries/{iso2}/operators``, ``/v1/operators/{id}/products``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from topup.catalogue.schemas import CountryList, OperatorList, ProductList
from topup.kit.errors import NotFound
from topup.kit.http import RuntimeDep, cached_json
from topup.kit.schemas import error_responses

router = APIRouter(prefix="/v1", tags=["catalogue"])
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
    return cached_json(request, body, max_age=CATALOGUE_MAX_AGE)
