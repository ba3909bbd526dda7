"""The FastAPI application: lifespan, middleware, error handlers and the routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from topup import __version__
from topup.accounts.endpoints import router as accounts_router
from topup.backoffice.endpoints import router as admin_router
from topup.catalogue.endpoints import admin_router as catalogue_admin_router
from topup.catalogue.endpoints import router as catalogue_router
from topup.config import Settings, get_settings
from topup.kit import sandbox_clock
from topup.kit.bodylimit import LimitBody
from topup.kit.db import DATABASE_FAILURES
from topup.kit.errors import AppError, ServiceUnavailable
from topup.kit.http import RuntimeDep, json_response
from topup.kit.logging import configure_logging
from topup.kit.nulchars import RefuseNul
from topup.kit.observe import ObserveRequests
from topup.kit.schemas import error_responses
from topup.kit.validation import describe_validation_error
from topup.lookup.endpoints import router as lookup_router
from topup.notifications.endpoints import router as sandbox_router
from topup.orders.endpoints import callbacks_router
from topup.orders.endpoints import router as orders_router
from topup.payments.endpoints import router as cards_router
from topup.pins.endpoints import router as pins_sandbox_router
from topup.promotions.endpoints import admin_router as promo_admin_router
from topup.promotions.endpoints import router as promo_router
from topup.refunds.endpoints import router as refunds_router
from topup.refunds.endpoints import staff_router as refunds_staff_router
from topup.runtime import Runtime, build_runtime
from topup.schedules.endpoints import router as schedules_router
from topup.storefront import endpoints as storefront
from topup.subscriptions.endpoints import plans_router
from topup.subscriptions.endpoints import router as subscriptions_router
from topup.wallet.endpoints import router as wallet_router
from topup.worker import run_forever

log = structlog.get_logger("topup.http")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime or build_runtime(settings)
        log.info("started", env=settings.env.value, version=__version__)
        background: list[asyncio.Task[None]] = []
        if settings.is_sandbox:
            # A process started after the clock was moved (a restart, or another process
            # of `topup serve --workers N`) takes the move up before its first request,
            # then follows later moves. Production never reads the sandbox clock.
            await sandbox_clock.take_up(app.state.runtime.session_factory)
            background.append(
                asyncio.create_task(sandbox_clock.follow(app.state.runtime.session_factory))
            )
        # `topup serve` runs a worker in the same process by default, so the embedded
        # default is one command; `topup worker` runs more of them elsewhere.
        if settings.run_worker:
            background.append(asyncio.create_task(run_forever(app.state.runtime)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned:
                await app.state.runtime.close()

    app = FastAPI(
        title="Topup",
        version=__version__,
        lifespan=lifespan,
        description="International mobile top-up: send prepaid credit to a phone "
        "in 60+ countries, paid in euros.",
    )
    # Inside LimitBody: it reads a body already bounded. A page's NUL is refused by the
    # storefront, so the browser sees the page's error rather than JSON.
    app.add_middleware(RefuseNul, is_page=storefront.is_page_path)
    # Inside ObserveRequests: a 408 or 413 is measured and logged.
    app.add_middleware(LimitBody, body_seconds=settings.body_timeout_seconds)
    app.add_middleware(ObserveRequests)
    _add_error_handlers(app)
    app.include_router(catalogue_router)
    app.include_router(lookup_router)
    app.include_router(accounts_router)
    app.include_router(cards_router)
    app.include_router(orders_router)
    app.include_router(callbacks_router)
    app.include_router(wallet_router)
    app.include_router(refunds_router)
    app.include_router(schedules_router)
    app.include_router(plans_router)
    app.include_router(subscriptions_router)
    app.include_router(sandbox_router)
    app.include_router(pins_sandbox_router)
    app.include_router(admin_router)
    app.include_router(refunds_staff_router)
    app.include_router(catalogue_admin_router)
    app.include_router(promo_router)
    app.include_router(promo_admin_router)
    _add_operations(app)
    storefront.mount(app)  # last: the API's paths come first
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, error: AppError) -> Response:
        if storefront.is_page(request):
            return await storefront.error_page(request, error)
        response = json_response(error.body(), error.status_code)
        response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        described = describe_validation_error(error.errors())
        if storefront.is_page(request):
            return await storefront.error_page(request, described)
        return json_response(described.body(), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if is_unreadable_body(error):
            return await invalid_request(request, RequestValidationError([_UNREADABLE_JSON]))
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(error.status_code, "http_error")
        message = "No such resource." if error.status_code == 404 else str(error.detail)
        if storefront.is_page(request):
            refusal = AppError(message, code=code)
            refusal.status_code = error.status_code
            return await storefront.error_page(request, refusal)
        response = json_response({"error": {"code": code, "message": message}}, error.status_code)
        response.headers.update(error.headers or {})
        return response

    async def database_unavailable(request: Request, error: Exception) -> Response:
        return await _database_unavailable(request, error)

    for failure in DATABASE_FAILURES:
        app.add_exception_handler(failure, database_unavailable)


# A restarted PostgreSQL accepts connections again within a few seconds.
RETRY_AFTER_SECONDS = 2


async def _database_unavailable(request: Request, error: Exception) -> Response:
    """503 ``service_unavailable`` with Retry-After for every way the database can fail a
    request (DATABASE_FAILURES): the unit of work rolled back, so nothing half-done stays,
    and the same request (the same Idempotency-Key) may be sent again."""
    cause = getattr(error, "orig", None) or error
    log.error("database_unavailable", error=type(cause).__name__, detail=str(cause)[:200])
    refusal = ServiceUnavailable(
        "The database is not answering; try again in a moment.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    if storefront.is_page(request):
        # The error page reads the visitor's session from the database, which may be the
        # very thing that is down: then the browser gets the plain answer.
        with contextlib.suppress(*DATABASE_FAILURES):
            page = await storefront.error_page(request, refusal)
            page.headers.update(refusal.headers)
            return page
    response = json_response(refusal.body(), refusal.status_code)
    response.headers.update(refusal.headers)
    return response


# What FastAPI's own JSON decoding error looks like, for the bodies it cannot even decode.
_UNREADABLE_JSON = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}


def is_unreadable_body(error: StarletteHTTPException) -> bool:
    """FastAPI answers 400 "There was an error parsing the body" when decoding the JSON
    body raises anything but a JSONDecodeError: bytes that are not UTF-8
    (UnicodeDecodeError) or nesting deeper than the parser recurses (RecursionError).
    To a client that is the same mistake as any malformed JSON: 422 ``invalid_json``."""
    return error.status_code == 400 and isinstance(
        error.__cause__, (UnicodeDecodeError, RecursionError, ValueError)
    )


class ReadyOut(BaseModel):
    """``status`` is ``ready`` or ``unavailable``; each dependency is ``ok`` or ``down``."""

    status: str
    database: str
    redis: str | None = None


async def _database_answers(runtime: Runtime) -> bool:
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except DATABASE_FAILURES as error:
        log.warning("not_ready", dependency="database", error=type(error).__name__)
        return False
    return True


async def _redis_answers(runtime: Runtime) -> bool:
    try:
        async with asyncio.timeout(2):
            return await runtime.limiter.healthy()
    except Exception as error:  # any failure of the client means "not ready", never a 500
        log.warning("not_ready", dependency="redis", error=type(error).__name__)
        return False


def _add_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], responses=error_responses(dependencies=False))
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=ReadyOut,
        responses={
            503: {"model": ReadyOut, "description": "A dependency is down (`unavailable`)"},
            **error_responses(dependencies=False),
        },
    )
    async def readyz(runtime: RuntimeDep) -> Response:
        """The database answers (and Redis, when rate limits are shared through it)."""
        checks = {"database": await _database_answers(runtime)}
        if runtime.settings.redis_url is not None:
            checks["redis"] = await _redis_answers(runtime)
        ready = all(checks.values())
        body = {"status": "ready" if ready else "unavailable"}
        body |= {name: "ok" if fine else "down" for name, fine in checks.items()}
        return json_response(body, 200 if ready else 503)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
