"""Every answer carries the security headers; JSON also forbids any active content."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.customers import logged_in_customer
from tests.orders.conftest import card
from topup.kit import faults
from topup.runtime import Runtime

JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"


async def test_a_json_answer_carries_every_security_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/countries")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == JSON_POLICY


async def test_errors_carry_them_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/orders")  # no login: 401

    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


async def test_the_api_docs_page_keeps_what_it_needs_to_run(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in response.headers  # its scripts must load


# ---- every kind of answer, error pages and files included ---------------------------------

BIG = "x" * (65 * 1024)  # over the 64 KiB body limit
API_ANSWERS = [
    ("GET", "/v1/nowhere", None, 404),
    ("DELETE", "/v1/countries", None, 405),
    ("POST", "/v1/auth/login", {"login": BIG, "password": "p"}, 413),
]
PAGE_ANSWERS = [
    ("GET", "/nowhere", None, 404),
    ("DELETE", "/help", None, 405),
    ("POST", "/login", {"login": BIG}, 413),
]


def assert_everywhere_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in response.headers


@pytest.mark.parametrize(("method", "path", "body", "status"), API_ANSWERS)
async def test_api_refusals_carry_the_json_policy(
    client: httpx.AsyncClient, method: str, path: str, body: object, status: int
) -> None:
    response = await client.request(method, path, json=body)

    assert response.status_code == status
    assert_everywhere_headers(response)
    assert response.headers["content-security-policy"] == JSON_POLICY


@pytest.mark.parametrize(("method", "path", "body", "status"), PAGE_ANSWERS)
async def test_page_refusals_carry_a_policy_that_forbids_framing(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, str] | None, status: int
) -> None:
    response = await client.request(method, path, data=body)

    assert response.status_code == status
    assert_everywhere_headers(response)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_static_files_carry_them(client: httpx.AsyncClient) -> None:
    for path in ("/static/topup.css", "/static/htmx.min.js", "/static/no-such-file.js"):
        response = await client.get(path)
        assert_everywhere_headers(response)
    assert (await client.get("/static/topup.css")).status_code == 200


async def test_an_unexpected_error_carries_them(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer = await logged_in_customer(runtime)
    body = {"amount": {"amount": 1000, "currency": "EUR"}, "payment": {"card": card()["card"]}}
    faults.arm("funding.authorized_at_gateway")  # the request dies halfway: a 500
    try:
        response = await client.post(
            "/v1/wallet/fund", json=body, headers=customer.headers | {"Idempotency-Key": "k-500"}
        )
    finally:
        faults.disarm()

    assert response.status_code == 500
    assert_everywhere_headers(response)
    assert response.headers["content-security-policy"] == JSON_POLICY
