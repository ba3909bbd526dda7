"""``POST /v1/auth/verify-phone`` and ``/resend``: the SMS code, its tries, its lifetime and
the throttles that stop anyone from guessing it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.conftest import ClientAt, RateLimits
from tests.accounts.helpers import (
    Person,
    assert_error,
    assert_retry_after,
    dashed_with_00,
    load,
    load_all,
    messages,
    new_person,
    new_phone,
    sign_up,
    sms_code,
    spaced,
    verify,
    verify_phone,
)
from topup.accounts.models import Customer, PhoneVerification
from topup.accounts.policy import Limits
from topup.accounts.security import code_digest
from topup.config import Settings
from topup.kit import clock


async def codes_of(engine: AsyncEngine, customer_id: str) -> list[PhoneVerification]:
    """The customer's verification rows, oldest first."""
    return await load_all(
        engine,
        select(PhoneVerification)
        .where(PhoneVerification.customer_id == customer_id)
        .order_by(PhoneVerification.created_at),
    )


def wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def resend(client: httpx.AsyncClient, phone: str) -> httpx.Response:
    return await client.post("/v1/auth/verify-phone/resend", json={"phone": phone})


async def signed_up(client: httpx.AsyncClient) -> tuple[Person, str, str]:
    """A new unverified account: the person, its id and the code texted to it."""
    person = new_person()
    customer = await sign_up(client, person)
    return person, customer["id"], await sms_code(client, person.phone)


async def test_the_code_is_stored_as_a_keyed_digest_never_as_itself(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    _, customer_id, code = await signed_up(client)

    [row] = await codes_of(engine, customer_id)

    assert row.code_hash != code
    assert code not in row.code_hash
    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()
    assert row.code_hash == code_digest(settings.secret_key, row.id, code)
    assert (row.attempts, row.closed_at) == (0, None)
    assert row.expires_at - row.created_at == timedelta(minutes=10)


async def test_the_right_code_confirms_the_phone(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    person, customer_id, code = await signed_up(client)

    response = await verify_phone(client, dashed_with_00(person.phone), code)

    assert response.status_code == 200, response.text
    customer = response.json()["customer"]
    assert (customer["id"], customer["phone"], customer["phone_verified"]) == (
        customer_id,
        person.phone,
        True,
    )
    stored = await load(engine, Customer, customer_id)
    assert stored is not None
    assert stored.phone_verified_at is not None
    [row] = await codes_of(engine, customer_id)
    assert row.closed_at is not None
    # A code works once.
    assert_error(await verify_phone(client, person.phone, code), 400, "invalid_code", "code")


async def test_a_wrong_code_fails_and_is_counted_although_the_request_failed(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    person, customer_id, code = await signed_up(client)

    response = await verify_phone(client, person.phone, wrong(code))

    assert_error(response, 400, "invalid_code", "code")
    [row] = await codes_of(engine, customer_id)
    assert (row.attempts, row.closed_at) == (1, None)
    stored = await load(engine, Customer, customer_id)
    assert stored is not None
    assert stored.phone_verified_at is None


@pytest.mark.parametrize("guess", ["12345", "1234567", "abcdef", "١٢٣٤٥٦", " 12345", ""])
async def test_a_malformed_code_is_a_wrong_code_and_counts(
    client: httpx.AsyncClient, engine: AsyncEngine, guess: str
) -> None:
    person, customer_id, _ = await signed_up(client)

    response = await verify_phone(client, person.phone, guess)

    assert_error(response, 400, "invalid_code", "code")
    [row] = await codes_of(engine, customer_id)
    assert row.attempts == 1


async def test_four_wrong_tries_still_leave_the_fifth_for_the_right_code(
    client: httpx.AsyncClient,
) -> None:
    person, _, code = await signed_up(client)
    for _ in range(4):
        assert_error(
            await verify_phone(client, person.phone, wrong(code)), 400, "invalid_code", "code"
        )

    response = await verify_phone(client, person.phone, code)

    assert response.status_code == 200, response.text


async def test_the_fifth_wrong_try_closes_the_code(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    person, customer_id, code = await signed_up(client)
    for _ in range(4):
        assert_error(
            await verify_phone(client, person.phone, wrong(code)), 400, "invalid_code", "code"
        )

    fifth = await verify_phone(client, person.phone, wrong(code))

    assert_error(fifth, 429, "too_many_attempts", "code")
    assert fifth.headers["Retry-After"] == "60"  # when a new code can be asked for
    [row] = await codes_of(engine, customer_id)
    assert row.attempts == 5
    assert row.closed_at is not None
    # Even the right code cannot be used any more.
    assert_error(await verify_phone(client, person.phone, code), 400, "invalid_code", "code")
    stored = await load(engine, Customer, customer_id)
    assert stored is not None
    assert stored.phone_verified_at is None


async def test_a_code_lives_ten_minutes(client: httpx.AsyncClient) -> None:
    person, _, code = await signed_up(client)
    clock.advance(599)

    response = await verify_phone(client, person.phone, code)

    assert response.status_code == 200, response.text


async def test_an_expired_code_fails(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    person, customer_id, code = await signed_up(client)
    clock.advance(601)

    response = await verify_phone(client, person.phone, code)

    assert_error(response, 400, "invalid_code", "code")
    stored = await load(engine, Customer, customer_id)
    assert stored is not None
    assert stored.phone_verified_at is None


async def test_a_number_without_an_account_gets_the_wrong_code_answer(
    client: httpx.AsyncClient,
) -> None:
    person, _, code = await signed_up(client)
    known = await verify_phone(client, person.phone, wrong(code))

    unknown = await verify_phone(client, new_phone(), "123456")

    assert_error(unknown, 400, "invalid_code", "code")
    assert unknown.json() == known.json()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"phone": "+2342033123456", "code": "123456"}, "invalid_phone", "phone"),
        ({"phone": "0803 123 4567", "code": "123456"}, "invalid_phone", "phone"),
        ({"phone": "+2348031234567"}, "missing_field", "code"),
        ({"code": "123456"}, "missing_field", "phone"),
        ({"phone": "+2348031234567", "code": 123456}, "invalid_field", "code"),
        ({"phone": "+2348031234567", "code": "1" * 17}, "invalid_field", "code"),
        ({"phone": "+2348031234567", "code": "123456", "x": 1}, "invalid_field", "x"),
    ],
)
async def test_a_malformed_verification_request_is_named(
    client: httpx.AsyncClient, body: dict[str, object], code: str, field: str
) -> None:
    assert_error(await client.post("/v1/auth/verify-phone", json=body), 422, code, field)


# ---- resending -------------------------------------------------------------------------------


async def test_resend_answers_202_for_a_number_without_an_account_and_sends_nothing(
    client: httpx.AsyncClient,
) -> None:
    phone = new_phone()

    response = await resend(client, spaced(phone))

    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    assert await messages(client, phone) == []


async def test_a_second_resend_within_a_minute_is_refused(client: httpx.AsyncClient) -> None:
    phone = new_phone()
    assert (await resend(client, phone)).status_code == 202

    again = await resend(client, phone)

    assert_retry_after(again, at_most=60)
    assert again.json()["error"]["code"] == "rate_limited"


async def test_the_code_sent_at_sign_up_counts_against_the_resend_throttle(
    client: httpx.AsyncClient,
) -> None:
    person, _, _ = await signed_up(client)

    response = await resend(client, person.phone)

    assert_retry_after(response, at_most=60)
    assert len(await messages(client, person.phone)) == 1


async def test_a_resent_code_supersedes_the_old_one(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    person, customer_id, old_code = await signed_up(client)
    await rate_limits.let_pass(Limits.code_per_phone, person.phone)

    response = await resend(client, person.phone)

    assert response.status_code == 202, response.text
    sent = await messages(client, person.phone)
    assert len(sent) == 2
    # The old SMS, if still unsent, will not go out: it would only carry a dead code.
    assert [message["status"] for message in sent] == ["pending", "dead"]
    new_code = await sms_code(client, person.phone)
    old_row, new_row = await codes_of(engine, customer_id)
    assert old_row.closed_at is not None
    assert new_row.closed_at is None
    if old_code != new_code:  # one chance in a million that they are the same digits
        assert_error(
            await verify_phone(client, person.phone, old_code), 400, "invalid_code", "code"
        )
    assert (await verify_phone(client, person.phone, new_code)).status_code == 200


async def test_a_new_code_after_too_many_tries_works(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    person, _, code = await signed_up(client)
    for _ in range(5):
        await verify_phone(client, person.phone, wrong(code))
    await rate_limits.let_pass(Limits.code_per_phone, person.phone)

    assert (await resend(client, person.phone)).status_code == 202

    assert (await verify(client, person))["phone_verified"] is True


async def test_at_most_five_codes_an_hour_reach_a_number(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    person, _, _ = await signed_up(client)
    for _ in range(4):
        await rate_limits.let_pass(Limits.code_per_phone, person.phone)
        assert (await resend(client, person.phone)).status_code == 202
    await rate_limits.let_pass(Limits.code_per_phone, person.phone)

    sixth = await resend(client, person.phone)

    assert_retry_after(sixth, at_most=3600)
    assert len(await messages(client, person.phone)) == 5


async def test_resend_to_a_verified_number_sends_nothing(
    client: httpx.AsyncClient, rate_limits: RateLimits
) -> None:
    person, _, _ = await signed_up(client)
    await verify(client, person)
    await rate_limits.let_pass(Limits.code_per_phone, person.phone)

    response = await resend(client, person.phone)

    assert response.status_code == 202
    assert len(await messages(client, person.phone)) == 1


async def test_resend_refuses_a_landline(client: httpx.AsyncClient) -> None:
    assert_error(await resend(client, "+2342033123456"), 422, "invalid_phone", "phone")


# ---- brute force -----------------------------------------------------------------------------


async def test_guessing_stops_at_ten_checks_an_hour_per_number_even_with_fresh_codes(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    person, customer_id, code = await signed_up(client)
    for _ in range(5):  # the first code is spent
        await verify_phone(client, person.phone, wrong(code))
    for _ in range(5):  # guesses while no code is open still count
        assert_error(
            await verify_phone(client, person.phone, "000000"), 400, "invalid_code", "code"
        )
    await rate_limits.let_pass(Limits.code_per_phone, person.phone)
    assert (await resend(client, person.phone)).status_code == 202
    fresh = await sms_code(client, person.phone)

    eleventh = await verify_phone(client, person.phone, fresh)

    assert_retry_after(eleventh, at_most=3600)
    assert eleventh.json()["error"]["code"] == "rate_limited"
    _, new_row = await codes_of(engine, customer_id)
    assert (new_row.attempts, new_row.closed_at) == (0, None)  # refused before any check
    stored = await load(engine, Customer, customer_id)
    assert stored is not None
    assert stored.phone_verified_at is None


async def test_guessing_across_numbers_stops_at_thirty_checks_per_address(
    client_at: ClientAt,
) -> None:
    guesser = client_at("198.51.100.7")
    for _ in range(30):
        response = await verify_phone(guesser, new_phone(), "123456")
        assert_error(response, 400, "invalid_code", "code")

    refused = await verify_phone(guesser, new_phone(), "123456")

    assert_retry_after(refused, at_most=600)
    # Another address is not affected.
    other = await verify_phone(client_at("198.51.100.8"), new_phone(), "123456")
    assert other.status_code == 400
