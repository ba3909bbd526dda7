"""Passwords, SMS codes and tokens never reach the process output, across a whole journey.

The app is built (and the logging configured) before the capture starts, as in
production: log lines then go to whatever ``sys.stdout`` is, which is the capture. A log
line of our own written through the same set-up proves the capture sees the app's logs.
The same journey runs once more with ``TOPUP_DATABASE_ECHO`` on, where SQLAlchemy prints
every statement: the outbox rows carry the code and the reset link, so bound values must
stay out of those lines.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import httpx
import pytest
import structlog
from fastapi import FastAPI

from tests.accounts.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    bearer,
    delete_me,
    forgot,
    log_in,
    me,
    new_person,
    post_login,
    reset,
    reset_token,
    sign_up,
    sms_code,
    verify_phone,
)
from topup.app import create_app
from topup.config import Settings

WRONG_PASSWORD = "Not-The-Password-42"


async def journey(client: httpx.AsyncClient) -> list[str]:
    """Sign up, verify (after a wrong code), log in (after a wrong password), reset the
    password, delete the account. Returns every secret that went over the wire."""
    person = new_person()
    await sign_up(client, person)
    code = await sms_code(client, person.phone)
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    assert (await verify_phone(client, person.phone, wrong_code)).status_code == 400
    assert (await verify_phone(client, person.phone, code)).status_code == 200
    assert (await post_login(client, person.email, WRONG_PASSWORD)).status_code == 401
    token = await log_in(client, person.phone, PASSWORD)
    assert (await me(client, token)).status_code == 200
    assert (await forgot(client, person.email)).status_code == 202
    link_token = await reset_token(client, person.email)
    assert (await reset(client, link_token, NEW_PASSWORD)).status_code == 200
    new_token = await log_in(client, person.email, NEW_PASSWORD)
    assert (await client.get("/v1/me", headers=bearer(new_token + "x"))).status_code == 401
    assert (await delete_me(client, new_token, PASSWORD)).status_code == 401
    assert (await delete_me(client, new_token, NEW_PASSWORD)).status_code == 204
    return [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, code, token, link_token, new_token]


async def test_a_whole_journey_writes_no_secret_to_the_output(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    marker = f"journey-{secrets.token_hex(6)}"
    structlog.get_logger("tests.accounts").info("journey_started", marker=marker)

    secrets_used = await journey(client)

    out, err = capfd.readouterr()
    assert marker in out  # the capture sees what the app's logging writes
    for secret in secrets_used:
        assert secret not in out
        assert secret not in err


@pytest.fixture
def echo_logger() -> Iterator[logging.Logger]:
    """SQLAlchemy's engine logger with no handler, so that an engine made with echo on
    attaches its own to the current (captured) stdout; put back as it was afterwards."""
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    saved = list(logger.handlers)
    for handler in saved:
        logger.removeHandler(handler)
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for handler in saved:
        logger.addHandler(handler)


@pytest.fixture
def echo_app(settings: Settings, echo_logger: logging.Logger) -> FastAPI:
    """An app with ``TOPUP_DATABASE_ECHO`` on; its runtime (and engine) is made when its
    lifespan starts, inside the test."""
    return create_app(settings.model_copy(update={"database_echo": True}))


async def test_with_database_echo_on_no_secret_reaches_the_output(
    echo_app: FastAPI, capfd: pytest.CaptureFixture[str]
) -> None:
    async with echo_app.router.lifespan_context(echo_app):
        transport = httpx.ASGITransport(app=echo_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://topup.test") as http:
            secrets_used = await journey(http)

    out, err = capfd.readouterr()
    # Echo is on and captured: the statements are there, their bound values are not (the
    # outbox rows hold the SMS code and the reset link).
    assert "INSERT INTO outbound_messages" in out
    for secret in secrets_used:
        assert secret not in out
        assert secret not in err
