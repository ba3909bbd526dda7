"""``POST /v1/auth/password/forgot`` and ``/reset``: always 202, a single-use token that
lives an hour, and a reset that ends every session."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.conftest import ClientAt
from tests.accounts.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    assert_error,
    assert_retry_after,
    count,
    forgot,
    load_all,
    log_in,
    me,
    messages,
    new_email,
    open_account,
    post_login,
    reset,
    reset_token,
)
from topup.accounts.models import PasswordReset
from topup.kit import clock


async def resets_in_total(engine: AsyncEngine) -> int:
    return await count(engine, select(func.count()).select_from(PasswordReset))


async def test_forgot_answers_202_and_emails_a_reset_token(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account = await open_account(client)

    response = await forgot(client, account.person.email)

    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    [email] = await messages(client, account.person.email)
    assert email["channel"] == "email"
    assert email["subject"]
    token = await reset_token(client, account.person.email)
    assert len(token) >= 43
    rows = await load_all(
        engine, select(PasswordReset).where(PasswordReset.customer_id == account.id)
    )
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert (rows[0].expires_at - rows[0].created_at).total_seconds() == 3600


async def test_forgot_for_an_unknown_address_answers_the_same_and_sends_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account = await open_account(client)
    known = await forgot(client, account.person.email)
    before = await resets_in_total(engine)
    nobody = new_email("nobody")

    unknown = await forgot(client, nobody)

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert await messages(client, nobody) == []
    # The same row is written either way, so both answers cost the same work.
    assert await resets_in_total(engine) == before + 1


async def test_forgot_finds_the_account_whatever_the_case_of_the_address(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client)

    assert (await forgot(client, f" {account.person.email.upper()} ")).status_code == 202

    assert await reset_token(client, account.person.email)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"email": "not an email"}, "invalid_email", "email"),
        ({}, "missing_field", "email"),
        ({"email": ["ada@example.com"]}, "invalid_field", "email"),
        ({"email": "ada@example.com", "phone": "+2348031234567"}, "invalid_field", "phone"),
    ],
)
async def test_a_malformed_forgot_request_is_named(
    client: httpx.AsyncClient, body: dict[str, object], code: str, field: str
) -> None:
    assert_error(await client.post("/v1/auth/password/forgot", json=body), 422, code, field)


async def test_a_reset_sets_the_password_and_ends_every_session(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client)
    second_session = await log_in(client, account.person.phone)
    await forgot(client, account.person.email)
    token = await reset_token(client, account.person.email)

    response = await reset(client, token, NEW_PASSWORD)

    assert response.status_code == 200, response.text
    assert response.json()["customer"]["id"] == account.id
    for old_session in (account.token, second_session):
        assert_error(await me(client, old_session), 401, "unauthorized")
    assert_error(
        await post_login(client, account.person.email, PASSWORD),
        401,
        "invalid_credentials",
        "login",
    )
    new_session = await log_in(client, account.person.phone, NEW_PASSWORD)
    assert (await me(client, new_session)).json()["customer"]["id"] == account.id


async def test_a_reset_token_works_once(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    await forgot(client, account.person.email)
    token = await reset_token(client, account.person.email)
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 200

    again = await reset(client, token, "yet another password")

    assert_error(again, 400, "invalid_token", "token")
    assert await log_in(client, account.person.email, NEW_PASSWORD)


async def test_using_one_reset_token_spends_the_older_ones_too(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    await forgot(client, account.person.email)
    older = await reset_token(client, account.person.email)
    await forgot(client, account.person.email)
    newer = await reset_token(client, account.person.email)
    assert older != newer

    assert (await reset(client, newer, NEW_PASSWORD)).status_code == 200

    assert_error(await reset(client, older, "yet another password"), 400, "invalid_token", "token")


async def test_a_reset_token_lives_an_hour(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    await forgot(client, account.person.email)
    token = await reset_token(client, account.person.email)
    clock.advance(3599)

    assert (await reset(client, token, NEW_PASSWORD)).status_code == 200


async def test_an_expired_reset_token_fails(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    await forgot(client, account.person.email)
    token = await reset_token(client, account.person.email)
    clock.advance(3601)

    response = await reset(client, token, NEW_PASSWORD)

    assert_error(response, 400, "invalid_token", "token")
    assert (await me(client, account.token)).status_code == 200
    assert await log_in(client, account.person.email, PASSWORD)


async def test_an_unknown_token_fails(client: httpx.AsyncClient) -> None:
    assert_error(await reset(client, "x" * 43, NEW_PASSWORD), 400, "invalid_token", "token")


async def test_a_weak_new_password_is_refused_and_the_token_kept(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client)
    await forgot(client, account.person.email)
    token = await reset_token(client, account.person.email)

    assert_error(await reset(client, token, "short"), 422, "weak_password", "password")

    assert (await me(client, account.token)).status_code == 200
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"password": NEW_PASSWORD}, "missing_field", "token"),
        ({"token": "abc"}, "missing_field", "password"),
        ({"token": "a" * 201, "password": NEW_PASSWORD}, "invalid_field", "token"),
        ({"token": 7, "password": NEW_PASSWORD}, "invalid_field", "token"),
    ],
)
async def test_a_malformed_reset_request_is_named(
    client: httpx.AsyncClient, body: dict[str, object], code: str, field: str
) -> None:
    assert_error(await client.post("/v1/auth/password/reset", json=body), 422, code, field)


async def test_three_reset_emails_an_hour_reach_an_address(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    for _ in range(3):
        assert (await forgot(client, account.person.email)).status_code == 202

    fourth = await forgot(client, account.person.email)

    assert_retry_after(fourth, at_most=3600)
    assert len(await messages(client, account.person.email)) == 3


async def test_one_address_asks_for_twenty_resets_an_hour(client_at: ClientAt) -> None:
    asker = client_at("192.0.2.50")
    for _ in range(20):
        assert (await forgot(asker, new_email())).status_code == 202

    refused = await forgot(asker, new_email())

    assert_retry_after(refused, at_most=3600)
    assert (await forgot(client_at("192.0.2.51"), new_email())).status_code == 202
