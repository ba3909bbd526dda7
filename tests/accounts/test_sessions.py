"""Login, bearer tokens, logout and expiry; the login throttle, on one node and shared
through Redis by several."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.conftest import ClientAt
from tests.accounts.helpers import (
    PASSWORD,
    assert_error,
    assert_retry_after,
    bearer,
    bracketed,
    dashed_with_00,
    delete_me,
    load_all,
    log_in,
    me,
    new_email,
    new_person,
    new_phone,
    open_account,
    post_login,
    spaced,
)
from topup.accounts.models import AccessToken
from topup.app import create_app
from topup.config import Settings
from topup.kit import clock
from topup.runtime import build_runtime


def invalid_credentials(response: httpx.Response) -> dict[str, Any]:
    assert_error(response, 401, "invalid_credentials", "login")
    body: dict[str, Any] = response.json()
    return body


async def test_login_by_email_in_any_case_gives_a_bearer_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await open_account(client)

    response = await post_login(client, f"  {account.person.email.upper()} ", PASSWORD)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.session_ttl_seconds
    assert len(body["access_token"]) >= 43  # 256 random bits
    customer = (await me(client, body["access_token"])).json()["customer"]
    assert customer["id"] == account.id


@pytest.mark.parametrize("written", [spaced, dashed_with_00, bracketed, lambda e164: e164])
async def test_login_by_phone_written_any_usual_way(
    client: httpx.AsyncClient, written: Callable[[str], str]
) -> None:
    account = await open_account(client)

    token = await log_in(client, written(account.person.phone))

    assert (await me(client, token)).json()["customer"]["id"] == account.id


async def test_an_unverified_account_can_log_in(client: httpx.AsyncClient) -> None:
    account = await open_account(client, verified=False)

    customer = (await me(client, account.token)).json()["customer"]

    assert customer["phone_verified"] is False


async def test_tokens_are_random_and_stored_only_as_their_sha256(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account = await open_account(client)
    second = await log_in(client, account.person.phone)

    rows = await load_all(engine, select(AccessToken).where(AccessToken.customer_id == account.id))

    assert second != account.token
    digests = {hashlib.sha256(token.encode()).hexdigest() for token in (account.token, second)}
    assert {row.token_hash for row in rows} == digests
    for row in rows:
        assert row.token_hash not in (account.token, second)
        assert account.token not in row.token_hash
        assert second not in row.token_hash


async def test_a_wrong_password_and_an_unknown_login_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client)

    answers = [
        invalid_credentials(await post_login(client, account.person.email, "wrong password!")),
        invalid_credentials(await post_login(client, account.person.phone, "wrong password!")),
        invalid_credentials(await post_login(client, new_email(), PASSWORD)),
        invalid_credentials(await post_login(client, new_phone(), PASSWORD)),
        invalid_credentials(await post_login(client, "neither a phone nor an email", PASSWORD)),
        invalid_credentials(await post_login(client, account.person.email, "")),
    ]

    assert all(answer == answers[0] for answer in answers)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"password": PASSWORD}, "missing_field", "login"),
        ({"login": "ada@example.com"}, "missing_field", "password"),
        ({"login": 5, "password": PASSWORD}, "invalid_field", "login"),
        ({"login": "a" * 321, "password": PASSWORD}, "invalid_field", "login"),
        (
            {"login": "ada@example.com", "password": PASSWORD, "remember": True},
            "invalid_field",
            "remember",
        ),
    ],
)
async def test_a_malformed_login_is_named(
    client: httpx.AsyncClient, body: dict[str, object], code: str, field: str
) -> None:
    assert_error(await client.post("/v1/auth/login", json=body), 422, code, field)


async def test_a_login_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login", content=b"login=ada", headers={"Content-Type": "application/json"}
    )

    assert_error(response, 422, "invalid_json")


async def test_a_nul_character_in_an_email_login_is_refused_before_any_lookup(
    client: httpx.AsyncClient,
) -> None:
    # PostgreSQL refuses a NUL in a text parameter: it once reached the query and gave 503.
    # Refused for its shape alone, the answer says nothing about which accounts exist.
    response = await post_login(client, "ada\u0000@example.com", PASSWORD)

    assert_error(response, 422, "invalid_field", "login")


# ---- tokens --------------------------------------------------------------------------------


async def test_logout_ends_that_token_only(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    other_session = await log_in(client, account.person.phone)

    response = await client.post("/v1/auth/logout", headers=bearer(account.token))

    assert response.status_code == 204
    assert_error(await me(client, account.token), 401, "unauthorized")
    assert (await me(client, other_session)).status_code == 200
    again = await client.post("/v1/auth/logout", headers=bearer(account.token))
    assert_error(again, 401, "unauthorized")


async def test_a_token_lives_session_ttl_seconds(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await open_account(client)

    clock.advance(settings.session_ttl_seconds - 5)
    assert (await me(client, account.token)).status_code == 200
    clock.advance(6)

    response = await me(client, account.token)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer    ",
        "Basic YWRhOnBhc3N3b3Jk",
        "Bearer not-a-token",
        "Token {token}",
        "Bearer {token}x",
        "{token}",
    ],
)
async def test_a_missing_or_bad_authorization_gets_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    account = await open_account(client)
    headers = {} if header is None else {"Authorization": header.format(token=account.token)}

    response = await client.get("/v1/me", headers=headers)

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_scheme_name_is_case_insensitive(client: httpx.AsyncClient) -> None:
    account = await open_account(client)

    response = await client.get("/v1/me", headers={"Authorization": f"bearer {account.token}"})

    assert response.status_code == 200


async def test_one_customers_token_never_reaches_another_customers_data(
    client: httpx.AsyncClient,
) -> None:
    ada = await open_account(client)
    bob = await open_account(client, new_person(name="bob").but(password="bob's own password"))

    seen_by_ada = (await me(client, ada.token)).text
    seen_by_bob = (await me(client, bob.token)).text

    for field in (bob.id, bob.person.email, bob.person.phone, "Bob"):
        assert field not in seen_by_ada
    for field in (ada.id, ada.person.email, ada.person.phone):
        assert field not in seen_by_bob
    # Bob's password does not let Ada's token delete anything, and Bob stays whole.
    response = await delete_me(client, ada.token, bob.person.password)
    assert_error(response, 401, "invalid_credentials", "password")
    assert (await client.post("/v1/auth/logout", headers=bearer(ada.token))).status_code == 204
    assert (await me(client, bob.token)).json()["customer"]["id"] == bob.id


# ---- brute force ------------------------------------------------------------------------------


async def test_login_guessing_stops_at_ten_tries_per_account(client: httpx.AsyncClient) -> None:
    account = await open_account(client)  # one successful login: it counts too
    for attempt in range(9):
        invalid_credentials(await post_login(client, account.person.email, f"guess {attempt:04}"))

    eleventh = await post_login(client, account.person.email.upper(), PASSWORD)

    assert_retry_after(eleventh, at_most=15 * 60)
    assert eleventh.json()["error"]["code"] == "rate_limited"
    assert "access_token" not in eleventh.text


async def test_the_account_limit_holds_whatever_address_the_guesses_come_from(
    client: httpx.AsyncClient, client_at: ClientAt
) -> None:
    account = await open_account(client)
    for attempt in range(9):
        guesser = client_at(f"203.0.113.{attempt + 1}")
        invalid_credentials(await post_login(guesser, account.person.email, "wrong password!"))

    refused = await post_login(client_at("203.0.113.99"), account.person.email, PASSWORD)

    assert_retry_after(refused, at_most=15 * 60)


async def test_one_address_gets_a_hundred_logins_an_hour(client_at: ClientAt) -> None:
    guesser = client_at("192.0.2.10")
    for _ in range(100):
        invalid_credentials(await post_login(guesser, new_email(), PASSWORD))

    refused = await post_login(guesser, new_email(), PASSWORD)

    assert_retry_after(refused, at_most=3600)
    other = await post_login(client_at("192.0.2.11"), new_email(), PASSWORD)
    invalid_credentials(other)


# ---- several app instances ---------------------------------------------------------------


Instances = Callable[[str | None], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def instances(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Instances]:
    """Start app instances on the same database, each with its own runtime; each counts
    its rate limits in memory (``None``) or in the Redis at the given URL."""
    async with AsyncExitStack() as stack:

        async def start(redis_url: str | None) -> httpx.AsyncClient:
            node_settings = settings.model_copy(update={"redis_url": redis_url})
            app = create_app(node_settings, build_runtime(node_settings, engine))
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://topup.test"
            )
            stack.push_async_callback(http.aclose)
            return http

        yield start


async def test_two_instances_on_one_redis_share_the_login_limit(
    instances: Instances, redis_url: str
) -> None:
    first, second = await instances(redis_url), await instances(redis_url)
    account = await open_account(first)  # one login already counted
    for attempt in range(9):
        node = first if attempt % 2 else second
        invalid_credentials(await post_login(node, account.person.email, "wrong password!"))

    on_first = await post_login(first, account.person.email, PASSWORD)
    on_second = await post_login(second, account.person.email, PASSWORD)
    on_a_third = await post_login(await instances(redis_url), account.person.email, PASSWORD)

    for refused in (on_first, on_second, on_a_third):
        assert_retry_after(refused, at_most=15 * 60)


async def test_without_redis_each_instance_counts_alone(instances: Instances) -> None:
    # Why the limit must be shared: in memory, a second node starts from zero.
    first, second = await instances(None), await instances(None)
    account = await open_account(first)
    for _ in range(9):
        invalid_credentials(await post_login(first, account.person.email, "wrong password!"))
    assert (await post_login(first, account.person.email, PASSWORD)).status_code == 429

    response = await post_login(second, account.person.email, PASSWORD)

    assert response.status_code == 200
