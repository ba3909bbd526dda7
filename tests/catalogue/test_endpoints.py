"""The catalogue over HTTP, on the shipped catalogue: shapes, caching, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from topup.catalogue.service import set_enabled
from topup.kit.db import unit_of_work
from topup.runtime import Runtime

REQUIRED_COUNTRIES = {
    "NG",
    "GH",
    "KE",
    "IN",
    "PK",
    "BD",
    "NP",
    "PH",
    "ID",
    "MX",
    "CO",
    "CU",
    "HT",
    "DO",
    "MA",
    "SN",
    "CM",
    "EG",
    "IT",
    "FR",
    "ES",
    "RO",
    "PL",
    "GB",
}


async def test_countries_list_at_least_sixty_served_countries(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/countries")
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    countries = {country["iso2"]: country for country in body["data"]}
    assert len(countries) >= 60
    assert countries.keys() >= REQUIRED_COUNTRIES
    assert countries["NG"] == {
        "iso2": "NG",
        "name": "Nigeria",
        "calling_code": "234",
        "currency": "NGN",
    }
    names = [country["name"] for country in body["data"]]
    assert names == sorted(names)


async def test_operators_of_a_country(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/countries/NG/operators")
    assert response.status_code == 200
    operators = {operator["id"]: operator for operator in response.json()["data"]}
    assert operators["ng-mtn"]["name"] == "MTN Nigeria"
    assert operators["ng-mtn"]["country"] == "NG"
    assert set(operators["ng-mtn"]) == {"id", "name", "country", "balance_check_code"}


async def test_products_of_an_operator(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/operators/ng-mtn/products")
    assert response.status_code == 200
    products = response.json()["data"]
    airtime = [product for product in products if product["type"] == "topup"]
    fixed = [product for product in airtime if product["kind"] == "fixed"]
    ranges = [product for product in airtime if product["kind"] == "range"]
    assert fixed
    assert len(ranges) == 1
    # The country's first operator also sells a PIN voucher, a calling card and a plan,
    # each a fixed denomination in the local currency.
    others = [product for product in products if product["type"] != "topup"]
    assert sorted(product["type"] for product in others) == ["calling_card", "plan", "voucher"]
    assert all(product["kind"] == "fixed" for product in others)
    for product in fixed:
        assert product["operator_id"] == "ng-mtn"
        assert product["local_value"]["currency"] == "NGN"
        assert product["price"]["currency"] == "EUR"
        assert isinstance(product["price"]["amount"], int)
        assert product["price"]["amount"] > 0
    values = [product["local_value"]["amount"] for product in fixed]
    prices = [product["price"]["amount"] for product in fixed]
    assert values == sorted(values)
    assert prices == sorted(prices)
    (span,) = ranges
    assert span["local_min"]["amount"] < span["local_max"]["amount"]
    assert span["price_min"]["amount"] < span["price_max"]["amount"]
    assert span["local_min"]["amount"] % span["local_step"]["amount"] == 0


@pytest.mark.parametrize(
    "path", ["/v1/countries", "/v1/countries/NG/operators", "/v1/operators/ng-mtn/products"]
)
async def test_catalogue_answers_are_cacheable(client: httpx.AsyncClient, path: str) -> None:
    first = await client.get(path)
    etag = first.headers["etag"]
    assert "max-age=" in first.headers["cache-control"]
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == first.content


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/countries/ZZ/operators", "country_not_found"),
        ("/v1/countries/US/operators", "country_not_found"),
        ("/v1/operators/zz-nobody/products", "operator_not_found"),
    ],
)
async def test_unknown_items_are_404(client: httpx.AsyncClient, path: str, code: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == code


@pytest.fixture
async def operator_switched_off(runtime: Runtime) -> AsyncIterator[str]:
    async with unit_of_work(runtime.session_factory) as session:
        await set_enabled(session, kind="operator", identifier="ng-mtn", enabled=False)
    yield "ng-mtn"
    async with unit_of_work(runtime.session_factory) as session:
        await set_enabled(session, kind="operator", identifier="ng-mtn", enabled=True)


async def test_switched_off_operator_leaves_the_catalogue_at_once(
    client: httpx.AsyncClient, operator_switched_off: str
) -> None:
    operators = (await client.get("/v1/countries/NG/operators")).json()["data"]
    assert operator_switched_off not in {operator["id"] for operator in operators}
    products = await client.get(f"/v1/operators/{operator_switched_off}/products")
    assert products.status_code == 404
    lookup = await client.get("/v1/lookup", params={"phone": "+2348031234567"})
    assert lookup.json()["error"]["code"] == "operator_unavailable"
