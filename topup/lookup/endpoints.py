"""``GET /v1/lookup``: who serves a number, and what can be bought for it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from topup.kit.http import RuntimeDep, json_response
from topup.kit.schemas import error_responses
from topup.lookup.schemas import LookupOut
from topup.lookup.service import LookupResult, look_up_number

router = APIRouter(prefix="/v1", tags=["lookup"])


@router.get("/lookup", response_model=LookupOut, responses=error_responses(422))
async def lookup(
    runtime: RuntimeDep,
    phone: Annotated[
        str, Query(description="The number: E.164, or national with `country`", max_length=64)
    ],
    country: Annotated[
        str | None, Query(description="ISO alpha-2 for a national number", max_length=8)
    ] = None,
    operator_id: Annotated[
        str | None,
        Query(
            description="The customer's own choice of operator, when detection got it wrong",
            max_length=80,
        ),
    ] = None,
) -> Response:
    snapshot = await runtime.catalogue.get()
    result = await look_up_number(
        snapshot, runtime.number_lookup, phone=phone, country=country, operator_id=operator_id
    )
    return json_response(_as_json(result, snapshot.products_json(result.operator.id)))


def _as_json(result: LookupResult, products: list[dict[str, Any]]) -> dict[str, object]:
    return {
        "phone": result.e164,
        "country": result.country.iso2,
        "operator": {"id": result.operator.id, "name": result.operator.name},
        "balance_check_code": result.operator.balance_check_code,
        "line_type": result.line_type.value,
        "detected_by": result.detected_by.value,
        "products": products,
    }
