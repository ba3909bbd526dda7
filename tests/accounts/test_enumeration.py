"""Nobody can learn who has an account: sign-up, login, forgotten password and code resend
answer an existing and an unknown person with the same status, the same body shape and,
measured over interleaved requests, the same time.

The timing checks are a security property, not a speed test: they compare the medians of
about twenty requests of each kind, interleaved, and allow a factor of two either way.
A path that skipped the password hash or the database for unknown people would be several
times faster and fail.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.accounts.conftest import RateLimits
from tests.accounts.helpers import (
    PASSWORD,
    Person,
    forgot,
    new_email,
    new_person,
    new_phone,
    open_account,
    post_login,
    post_signup,
    sign_up,
    sms_code,
    verify_phone,
)
from topup.accounts.policy import Limits
from topup.accounts.security import Passwords
from topup.runtime import Runtime

ROUNDS = 20
WARM_UP = 3

Request = Callable[[], Awaitable[httpx.Response]]


@pytest.fixture
def runtime(runtime: Runtime) -> Runtime:
    """The accounts runtime with a password hash that costs real time (about 20 ms, where
    the suite's usual setting costs under one): skipping it for unknown people would then
    make their answers several times faster, far outside the bound."""
    passwords = Passwords(time_cost=2, memory_kib=16 * 1024, parallelism=1)
    return dataclasses.replace(
        runtime, accounts=dataclasses.replace(runtime.accounts, passwords=passwords)
    )


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not the values themselves."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


async def median_times(
    rate_limits: RateLimits, known: Request, unknown: Request
) -> tuple[float, float]:
    """Median seconds of ``known`` and ``unknown`` requests, interleaved in alternating
    order after a few unmeasured warm-up rounds; the rate limits are cleared before each
    request so that every one of them does the full work."""
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    requests = {"known": known, "unknown": unknown}
    for round_number in range(WARM_UP + ROUNDS):
        order = ["known", "unknown"] if round_number % 2 else ["unknown", "known"]
        for kind in order:
            await rate_limits.clear()
            started = time.perf_counter()
            response = await requests[kind]()
            elapsed = time.perf_counter() - started
            assert response.status_code < 500, response.text
            if round_number >= WARM_UP:
                times[kind].append(elapsed)
    return statistics.median(times["known"]), statistics.median(times["unknown"])


def assert_alike(known: float, unknown: float) -> None:
    ratio = known / unknown
    assert 0.5 <= ratio <= 2.0, (
        f"existing accounts answer in {known * 1000:.2f} ms (median), unknown ones in "
        f"{unknown * 1000:.2f} ms: the time tells them apart"
    )


# ---- sign-up -----------------------------------------------------------------------------


async def test_sign_up_answers_a_taken_and_a_free_address_alike(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    owner = await open_account(client)
    await rate_limits.let_pass(Limits.code_per_phone, owner.person.phone)
    free = await post_signup(client, new_person())
    attempts = [
        new_person().but(email=owner.person.email),
        new_person().but(phone=owner.person.phone),
        new_person().but(email=owner.person.email, phone=owner.person.phone),
    ]
    taken = []
    for attempt in attempts:
        await rate_limits.let_pass(Limits.code_per_phone, attempt.phone)
        taken.append(await post_signup(client, attempt))

    for response in taken:
        assert response.status_code == free.status_code == 201
        assert response.headers["content-type"] == free.headers["content-type"]
        assert shape(response.json()) == shape(free.json())
        customer, fresh = response.json()["customer"], free.json()["customer"]
        for field in ("phone_verified", "status", "block_reason", "role", "language"):
            assert customer[field] == fresh[field], field
        assert len(customer["id"]) == len(fresh["id"])
        assert customer["id"].startswith("cus_")


async def test_sign_up_takes_as_long_for_a_taken_address_as_for_a_free_one(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    owner = await open_account(client)

    def attempt(person: Callable[[], Person]) -> Request:
        async def send() -> httpx.Response:
            response = await post_signup(client, person())
            assert response.status_code == 201, response.text
            return response

        return send

    taken, free = await median_times(
        rate_limits,
        attempt(lambda: new_person().but(email=owner.person.email, phone=owner.person.phone)),
        attempt(new_person),
    )

    assert_alike(taken, free)


# ---- login -------------------------------------------------------------------------------


async def test_login_takes_as_long_for_an_unknown_login_as_for_a_wrong_password(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    account = await open_account(client)

    async def wrong_password() -> httpx.Response:
        response = await post_login(client, account.person.email, "not the password")
        assert response.status_code == 401
        return response

    async def unknown_login() -> httpx.Response:
        response = await post_login(client, new_email(), "not the password")
        assert response.status_code == 401
        return response

    known, unknown = await median_times(rate_limits, wrong_password, unknown_login)

    assert_alike(known, unknown)
    assert (await wrong_password()).json() == (await unknown_login()).json()


async def test_login_by_phone_takes_as_long_for_an_unknown_number(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    account = await open_account(client)

    async def wrong_password() -> httpx.Response:
        return await post_login(client, account.person.phone, "not the password")

    async def unknown_number() -> httpx.Response:
        return await post_login(client, new_phone(), PASSWORD)

    known, unknown = await median_times(rate_limits, wrong_password, unknown_number)

    assert_alike(known, unknown)
    assert (await wrong_password()).json() == (await unknown_number()).json()


# ---- forgotten password and code resend --------------------------------------------------


async def test_forgot_takes_as_long_for_an_unknown_address(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    account = await open_account(client)

    async def existing() -> httpx.Response:
        return await forgot(client, account.person.email)

    async def unknown() -> httpx.Response:
        return await forgot(client, new_email())

    known_time, unknown_time = await median_times(rate_limits, existing, unknown)

    assert_alike(known_time, unknown_time)
    first, second = await existing(), await unknown()
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()


async def test_resend_answers_alike_with_or_without_an_account(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    unverified = new_person()
    await sign_up(client, unverified)
    verified = await open_account(client)
    for phone in (unverified.phone, verified.person.phone):
        await rate_limits.let_pass(Limits.code_per_phone, phone)

    answers = [
        await client.post("/v1/auth/verify-phone/resend", json={"phone": phone})
        for phone in (unverified.phone, verified.person.phone, new_phone())
    ]

    assert {response.status_code for response in answers} == {202}
    assert all(response.json() == answers[0].json() for response in answers)


async def test_a_free_phone_given_with_a_taken_email_still_gets_a_code_sms(
    client: httpx.AsyncClient,
) -> None:
    """Otherwise the attacker's own phone staying silent would tell that the email is a
    customer's. The code it gets confirms nothing."""
    owner = new_person(name="ada")
    await sign_up(client, owner)
    attacker = new_person(name="eve").but(email=owner.email)
    assert (await post_signup(client, attacker)).status_code == 201
    code = await sms_code(client, attacker.phone)
    refused = await verify_phone(client, attacker.phone, code)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_code"
