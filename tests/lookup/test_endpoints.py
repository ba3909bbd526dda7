"""``GET /v1/lookup`` over HTTP on the shipped catalogue."""

from __future__ import annotations

import httpx
import pytest

MTN_NIGERIA = "+2348031234567"


async def test_lookup_names_mtn_nigeria_with_its_products(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/lookup", params={"phone": MTN_NIGERIA})
    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == MTN_NIGERIA
    assert body["country"] == "NG"
    assert body["operator"] == {"id": "ng-mtn", "name": "MTN Nigeria"}
    assert body["line_type"] == "prepaid"
    assert body["detected_by"] == "supplier"
    catalogue = (await client.get("/v1/operators/ng-mtn/products")).json()["data"]
    assert body["products"] == catalogue
    assert {
        product["price"]["currency"] for product in catalogue if product["kind"] == "fixed"
    } == {"EUR"}


@pytest.mark.parametrize(
    "params",
    [
        {"phone": "+234 803 123 4567"},
        {"phone": "00234-803-123-4567"},
        {"phone": "0803 123 4567", "country": "NG"},
        {"phone": "(0803) 123-4567", "country": "ng"},
    ],
)
async def test_messy_input(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/v1/lookup", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == MTN_NIGERIA


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"phone": "not a number"}, "invalid_phone", "phone"),
        ({"phone": "0803 123 4567"}, "invalid_phone", "phone"),
        ({"phone": "+234 1 234 5678"}, "invalid_phone", "phone"),  # a Lagos landline
        ({"phone": "+81 90 1234 5678"}, "unsupported_country", "phone"),
        ({"phone": "+2348031230009"}, "not_prepaid", "phone"),
        ({"phone": MTN_NIGERIA, "country": "GH"}, "country_mismatch", "phone"),
        ({"phone": MTN_NIGERIA, "country": "Nigeria"}, "invalid_country", "country"),
        ({"phone": MTN_NIGERIA, "operator_id": "gh-mtn"}, "invalid_operator", "operator_id"),
        ({}, "missing_field", "phone"),
        ({"phone": "1" * 65}, "invalid_field", "phone"),
    ],
)
async def test_errors_name_their_code_and_field(
    client: httpx.AsyncClient, params: dict[str, str], code: str, field: str
) -> None:
    response = await client.get("/v1/lookup", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


async def test_customer_correction_of_the_operator(client: httpx.AsyncClient) -> None:
    operators = (await client.get("/v1/countries/NG/operators")).json()["data"]
    other = next(operator["id"] for operator in operators if operator["id"] != "ng-mtn")
    response = await client.get("/v1/lookup", params={"phone": MTN_NIGERIA, "operator_id": other})
    assert response.status_code == 200
    assert response.json()["operator"]["id"] == other
    assert response.json()["detected_by"] == "customer"


async def test_mexico_has_no_prefix_data_so_the_customer_names_the_operator(
    client: httpx.AsyncClient,
) -> None:
    # libphonenumber has no carrier data for +52, and the simulator, like a supplier without
    # a record of the number, cannot tell either: the customer picks from the list.
    unknown = await client.get("/v1/lookup", params={"phone": "+52 55 1234 5678"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "operator_unknown"
    operators = (await client.get("/v1/countries/MX/operators")).json()["data"]
    assert "mx-telcel" in {operator["id"] for operator in operators}
    chosen = await client.get(
        "/v1/lookup", params={"phone": "+52 55 1234 5678", "operator_id": "mx-telcel"}
    )
    assert chosen.status_code == 200
    assert chosen.json()["operator"] == {"id": "mx-telcel", "name": "Telcel"}
    assert chosen.json()["products"][0]["local_value"]["currency"] == "MXN"
