"""Every request while the database is unreachable: 503 ``service_unavailable`` with
Retry-After, never a 500. A stopped PostgreSQL refuses the connection (asyncpg raises a bare
ConnectionRefusedError, which SQLAlchemy does not wrap: it answered 500 before); a SQLite
file that cannot be opened fails as OperationalError."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.db_faults import assert_unavailable
from tests.fixtures.services import free_port
from tests.orders.conftest import order_body
from topup.app import create_app
from topup.config import Environment, Settings

BEARER = {"Authorization": "Bearer tok_not-checked-without-a-database"}


@pytest.fixture(params=["postgresql", "sqlite"])
async def unreachable(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "postgresql":  # nothing listens on a free port of 127.0.0.1
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/topup"
    else:  # a file in a folder that does not exist cannot be opened
        url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'topup.db'}"
    settings = Settings(env=Environment.test, database_url=url, run_worker=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            yield http


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/countries"),
        ("GET", "/v1/lookup?phone=%2B2348031234567"),
        ("GET", "/v1/me"),
        ("GET", "/v1/orders"),
        ("GET", "/v1/wallet"),
    ],
)
async def test_a_read_answers_503_with_retry_after(
    unreachable: httpx.AsyncClient, method: str, path: str
) -> None:
    assert_unavailable(await unreachable.request(method, path, headers=BEARER))


async def test_placing_an_order_answers_503(unreachable: httpx.AsyncClient) -> None:
    response = await unreachable.post(
        "/v1/orders", json=order_body(), headers=BEARER | {"Idempotency-Key": "k-1"}
    )
    assert_unavailable(response)


async def test_readiness_says_the_database_is_down(unreachable: httpx.AsyncClient) -> None:
    response = await unreachable.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert (await unreachable.get("/healthz")).status_code == 200  # the process is alive


@pytest.mark.parametrize("cookie", [None, "tok_a-session-that-cannot-be-read"])
async def test_a_page_answers_503_even_when_its_visitor_cannot_be_read(
    unreachable: httpx.AsyncClient, cookie: str | None
) -> None:
    if cookie is not None:
        unreachable.cookies.set("topup_session", cookie, domain="topup.test", path="/")
    response = await unreachable.get("/")
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
