"""The application shell: health, readiness, metrics, error bodies, request ids, logs."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from topup.app import create_app
from topup.config import Environment, Settings
from topup.kit.logging import configure_logging
from topup.runtime import Runtime, build_runtime

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_healthz_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_when_the_database_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


@pytest.fixture(params=["postgresql", "sqlite"])
async def unreachable_client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database does not answer: a closed port, or a file that cannot exist."""
    urls = {
        "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:1/test",
        "sqlite": f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'topup.db'}",
    }
    settings = Settings(env=Environment.test, database_url=urls[request.param])
    runtime = build_runtime(settings)
    app = create_app(settings, runtime)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
                yield http
    finally:
        await runtime.close()


async def client_for(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, build_runtime(settings, engine))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            yield http


async def test_readyz_checks_redis_when_limits_are_shared_through_it(
    settings: Settings, engine: AsyncEngine, redis_url: str
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url})
    async for http in client_for(shared, engine):
        response = await http.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_readyz_is_unavailable_when_redis_is_not(
    settings: Settings, engine: AsyncEngine
) -> None:
    unreachable = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async for http in client_for(unreachable, engine):
        response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "ok", "redis": "down"}


async def test_readyz_is_unavailable_when_the_database_is_not(
    unreachable_client: httpx.AsyncClient,
) -> None:
    response = await unreachable_client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down"}
    assert (await unreachable_client.get("/healthz")).status_code == 200


def requests_counted(metrics_text: str, route: str, status: str) -> float:
    pattern = re.compile(
        r'^topup_http_requests_total\{method="GET",route="'
        + re.escape(route)
        + r'",status="'
        + status
        + r'"\} (\S+)$',
        re.MULTILINE,
    )
    found = pattern.search(metrics_text)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    template = "/v1/operators/{operator_id}/products"
    before = requests_counted((await client.get("/metrics")).text, template, "200")

    assert (await client.get("/v1/operators/ng-mtn/products")).status_code == 200
    assert (await client.get("/v1/operators/ng-airtel/products")).status_code == 200
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert requests_counted(response.text, template, "200") == before + 2
    assert "/v1/operators/ng-mtn/products" not in response.text
    assert "topup_http_request_duration_seconds_bucket" in response.text


async def test_metrics_put_unknown_paths_under_one_label(client: httpx.AsyncClient) -> None:
    before = requests_counted((await client.get("/metrics")).text, "unmatched", "404")

    await client.get("/no/such/page-7f3a")
    text = (await client.get("/metrics")).text

    assert requests_counted(text, "unmatched", "404") == before + 1
    assert "page-7f3a" not in text


async def test_an_unknown_route_is_a_not_found_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "No such resource."}}


async def test_a_wrong_method_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/healthz")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.json()["error"]["message"]
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz"), ("GET", "/v1/nothing"), ("DELETE", "/healthz"), ("GET", "/v1/lookup")],
)
async def test_every_response_carries_a_request_id(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    first = await client.request(method, path)
    second = await client.request(method, path)

    assert REQUEST_ID.match(first.headers["x-request-id"])
    assert REQUEST_ID.match(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_given_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "checkout-42-retry"})

    assert response.headers["x-request-id"] == "checkout-42-retry"


@pytest.mark.parametrize("given", [b"r" * 65, b"two words", b"id;drop", b"na\xefve", b"a\tb"])
async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient, given: bytes) -> None:
    response = await client.get("/v1/nothing", headers={b"X-Request-Id": given})

    assert REQUEST_ID.match(response.headers["x-request-id"])


async def test_a_request_id_of_64_plain_characters_is_kept(client: httpx.AsyncClient) -> None:
    given = "Ab9._-" * 10 + "zzzz"
    response = await client.get("/healthz", headers={"X-Request-Id": given})

    assert response.headers["x-request-id"] == given


async def test_openapi_lists_the_public_paths(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Topup"
    for path in [
        "/v1/lookup",
        "/v1/countries",
        "/v1/countries/{iso2}/operators",
        "/v1/operators/{operator_id}/products",
        "/healthz",
        "/readyz",
    ]:
        assert "get" in document["paths"][path], path
    assert "/metrics" not in document["paths"]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put back the logging set-up the rest of the session uses."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("restored_logging")
def test_a_log_line_is_json_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    log = structlog.get_logger("tests.app")

    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        log.info(
            "signed_in",
            password="hunter2-secret",
            token="tok-abc",
            code="918273",
            email="ada@example.org",
        )
        log.debug("too_detailed", password="never-written")
    finally:
        structlog.contextvars.clear_contextvars()

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["event"] == "signed_in"
    assert entry["level"] == "info"
    assert entry["request_id"] == "req-1"
    assert entry["timestamp"].endswith("Z")
    assert entry["email"] == "ada@example.org"
    assert entry["password"] == entry["token"] == entry["code"] == "[redacted]"
    for secret in ["hunter2-secret", "tok-abc", "918273", "never-written"]:
        assert secret not in lines[0]


@pytest.fixture
async def failing_client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app plus one route that breaks, as a bug in any endpoint would."""
    app = create_app(settings, runtime)

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            yield http


async def test_an_unexpected_error_is_a_json_500(failing_client: httpx.AsyncClient) -> None:
    response = await failing_client.get("/broken")

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side."}
    }


async def test_an_unexpected_error_still_carries_the_request_id(
    failing_client: httpx.AsyncClient,
) -> None:
    response = await failing_client.get("/broken", headers={"X-Request-Id": "trace-500"})

    assert response.status_code == 500
    assert response.headers.get("x-request-id") == "trace-500"


async def test_an_unexpected_error_is_counted_under_its_route(
    failing_client: httpx.AsyncClient,
) -> None:
    before = requests_counted((await failing_client.get("/metrics")).text, "/broken", "500")

    await failing_client.get("/broken")

    after = requests_counted((await failing_client.get("/metrics")).text, "/broken", "500")
    assert after == before + 1
