"""Every answer carries the security headers; JSON also forbids any active content."""

from __future__ import annotations

import httpx


async def test_a_json_answer_carries_every_security_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/countries")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


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
