"""``POST /v1/auth/signup``: what is checked, how it is normalised, what is stored, and
what a sign-up with someone else's email or phone does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.conftest import RateLimits
from tests.accounts.helpers import (
    PASSWORD,
    assert_error,
    assert_retry_after,
    bracketed,
    count,
    dashed_with_00,
    load,
    load_all,
    log_in,
    me,
    messages,
    new_email,
    new_person,
    open_account,
    post_login,
    post_signup,
    sign_up,
    sms_code,
    spaced,
    verify,
)
from topup.accounts.models import Customer, CustomerStatus, PhoneVerification
from topup.accounts.policy import Limits
from topup.kit import clock

CUSTOMER_KEYS = {
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "phone_verified",
    "status",
    "block_reason",
    "role",
    "language",
    "date_of_birth",
    "residence_country",
}


async def customers_in_total(engine: AsyncEngine) -> int:
    return await count(engine, select(func.count()).select_from(Customer))


async def test_sign_up_stores_the_customer_and_texts_a_code(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    person = new_person()

    response = await post_signup(client, person)

    assert response.status_code == 201, response.text
    customer = response.json()["customer"]
    assert set(customer) == CUSTOMER_KEYS
    assert customer["id"].startswith("cus_")
    expected = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "phone": person.phone,
        "email": person.email,
        "phone_verified": False,
        "status": "active",
        "block_reason": None,
        "role": "customer",
        "language": "en",
    }
    assert {key: customer[key] for key in expected} == expected
    stored = await load(engine, Customer, customer["id"])
    assert stored is not None
    assert stored.email_key == person.email.lower()
    assert stored.phone == person.phone
    assert stored.phone_verified_at is None
    assert stored.country_iso2 == "NG"
    # The password is kept as an argon2id hash, never as itself.
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    sent = await messages(client, person.phone)
    assert [message["channel"] for message in sent] == ["sms"]
    assert len(await sms_code(client, person.phone)) == 6


@pytest.mark.parametrize("written", [spaced, dashed_with_00, bracketed, lambda e164: e164])
async def test_a_phone_written_any_usual_way_is_stored_in_e164(
    client: httpx.AsyncClient, engine: AsyncEngine, written: Any
) -> None:
    person = new_person()

    customer = await sign_up(client, person.but(phone=written(person.phone)))

    assert customer["phone"] == person.phone
    stored = await load(engine, Customer, customer["id"])
    assert stored is not None
    assert stored.phone == person.phone
    assert await sms_code(client, person.phone)


async def test_the_email_is_normalised_and_matched_without_case(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    local = new_email("Ada.Lovelace").split("@")[0]
    person = new_person().but(email=f"  {local}@EXAMPLE.Com ")

    customer = await sign_up(client, person)

    assert customer["email"] == f"{local}@example.com"
    stored = await load(engine, Customer, customer["id"])
    assert stored is not None
    assert stored.email_key == f"{local}@example.com".lower()


@pytest.mark.parametrize(
    ("country", "language"), [("FR", "fr"), ("IT", "it"), ("MX", "es"), ("NG", "en")]
)
async def test_the_language_comes_from_the_phone_country(
    client: httpx.AsyncClient, country: str, language: str
) -> None:
    account = await open_account(client, new_person(country))

    customer = (await me(client, account.token)).json()["customer"]

    assert customer["language"] == language
    assert customer["phone"] == account.person.phone


async def test_a_password_of_exactly_ten_characters_is_enough(client: httpx.AsyncClient) -> None:
    person = new_person().but(password="0123456789")

    await sign_up(client, person)

    assert await log_in(client, person.email, "0123456789")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"password": "123456789"}, "weak_password", "password"),
        ({"password": " " * 12}, "weak_password", "password"),
        ({"password": "x" * 1025}, "invalid_field", "password"),
        ({"email": "not-an-email"}, "invalid_email", "email"),
        ({"email": "ada@localhost"}, "invalid_email", "email"),
        ({"email": "ada lovelace@example.com"}, "invalid_email", "email"),
        ({"email": ""}, "invalid_email", "email"),
        ({"phone": "+2342033123456"}, "invalid_phone", "phone"),  # a Nigerian landline
        ({"phone": "+33123456789"}, "invalid_phone", "phone"),  # a Paris landline
        ({"phone": "0803 123 4567"}, "invalid_phone", "phone"),  # national, no +country
        ({"phone": "+234 803 CALL NOW"}, "invalid_phone", "phone"),
        ({"phone": "+234 803"}, "invalid_phone", "phone"),
        ({"phone": ""}, "invalid_phone", "phone"),
        ({"first_name": ""}, "invalid_name", "first_name"),
        ({"last_name": "   "}, "invalid_name", "last_name"),
        ({"first_name": "12345"}, "invalid_name", "first_name"),
        ({"last_name": "A" * 101}, "invalid_name", "last_name"),
        ({"first_name": "Ada\u0000"}, "invalid_field", "first_name"),  # no NUL anywhere
        ({"first_name": "Ada\u202e"}, "invalid_name", "first_name"),
        ({"first_name": "A" * 201}, "invalid_field", "first_name"),
        ({"first_name": 42}, "invalid_field", "first_name"),
        ({"phone": ["+2348031234567"]}, "invalid_field", "phone"),
        ({"email": None}, "invalid_field", "email"),
        ({"role": "admin"}, "invalid_field", "role"),
        ({"phone_verified": True}, "invalid_field", "phone_verified"),
    ],
)
async def test_a_bad_field_is_named_with_its_code_and_nothing_is_stored(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    person = new_person()
    before = await customers_in_total(engine)

    response = await client.post("/v1/auth/signup", json=person.body(**changes))

    assert_error(response, 422, code, field)
    assert await customers_in_total(engine) == before
    assert await messages(client, person.phone) == []


@pytest.mark.parametrize("missing", ["first_name", "last_name", "phone", "email", "password"])
async def test_a_missing_field_is_named(client: httpx.AsyncClient, missing: str) -> None:
    body = new_person().body()
    del body[missing]

    response = await client.post("/v1/auth/signup", json=body)

    assert_error(response, 422, "missing_field", missing)


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b'{"first_name": "Ada", ', "application/json", "invalid_json"),
        (b"first_name=Ada&last_name=Lovelace", "application/x-www-form-urlencoded", None),
        (b"\xff\xfe\x00garbage", "application/json", "invalid_json"),
        (b"[]", "application/json", "invalid_field"),
        (b"null", "application/json", None),
        (b"", "application/json", "missing_field"),
        (b'"Ada"', "application/json", "invalid_field"),
        (b"<xml/>", "text/xml", None),
    ],
)
async def test_a_body_that_is_not_a_json_object_gets_a_clear_4xx(
    client: httpx.AsyncClient, content: bytes, content_type: str, code: str | None
) -> None:
    response = await client.post(
        "/v1/auth/signup", content=content, headers={"Content-Type": content_type}
    )

    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["message"]
    assert error["code"] in {"invalid_json", "invalid_field", "missing_field"}
    if code is not None:
        assert error["code"] == code


# ---- someone else's email or phone -----------------------------------------------------------


async def test_a_taken_email_gets_the_same_201_but_nothing_is_stored_and_the_owner_is_warned(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await open_account(client)
    intruder = new_person(name="eve").but(
        email=owner.person.email.upper(), password="eve guesses nothing"
    )
    before = await customers_in_total(engine)

    response = await post_signup(client, intruder)

    assert response.status_code == 201, response.text
    decoy = response.json()["customer"]
    assert set(decoy) == CUSTOMER_KEYS
    assert decoy["id"] != owner.id
    assert decoy["phone_verified"] is False
    assert await load(engine, Customer, decoy["id"]) is None
    assert await customers_in_total(engine) == before
    assert (
        await load_all(
            engine, select(PhoneVerification).where(PhoneVerification.customer_id == decoy["id"])
        )
        == []
    )
    warning = (await messages(client, owner.person.email))[0]
    assert warning["channel"] == "email"
    assert "tried to open" in (warning["subject"] + warning["body"])
    # The intruder's password opens nothing; the owner's still does.
    assert (await post_login(client, owner.person.email, intruder.password)).status_code == 401
    assert (await me(client, await log_in(client, owner.person.email))).status_code == 200


async def test_a_taken_phone_gets_the_same_201_and_the_owner_is_told_by_sms(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    owner = await open_account(client)
    # The owner's own code was sent moments ago: let the one-a-minute window go by.
    await rate_limits.let_pass(Limits.code_per_phone, owner.person.phone)
    intruder = new_person(name="eve").but(phone=spaced(owner.person.phone))
    before = await customers_in_total(engine)

    response = await post_signup(client, intruder)

    assert response.status_code == 201, response.text
    decoy = response.json()["customer"]
    assert decoy["phone"] == owner.person.phone
    assert await load(engine, Customer, decoy["id"]) is None
    assert await customers_in_total(engine) == before
    newest = (await messages(client, owner.person.phone))[0]
    assert newest["channel"] == "sms"
    assert "already" in newest["body"]
    assert await messages(client, intruder.email) == []
    assert (await post_login(client, intruder.email, PASSWORD)).status_code == 401
    assert (await post_login(client, owner.person.phone, PASSWORD)).status_code == 200


async def test_an_unverified_account_younger_than_a_day_keeps_its_phone_and_email(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    squatter = new_person()
    held = await sign_up(client, squatter)
    clock.advance(23 * 3600)
    await rate_limits.let_pass(Limits.code_per_phone, squatter.phone)

    decoy = await sign_up(client, new_person(name="bob").but(phone=squatter.phone))

    assert await load(engine, Customer, decoy["id"]) is None
    stored = await load(engine, Customer, held["id"])
    assert stored is not None
    assert (stored.phone, stored.status) == (squatter.phone, CustomerStatus.active)


async def test_an_unverified_account_older_than_a_day_lets_its_phone_and_email_go(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    squatter = new_person()
    old = await sign_up(client, squatter)
    old_token = await log_in(client, squatter.email)
    clock.advance(24 * 3600 + 1)
    await rate_limits.let_pass(Limits.code_per_phone, squatter.phone)
    rightful = new_person(name="bob").but(phone=squatter.phone, email=squatter.email)

    new = await sign_up(client, rightful.but(password="another good password"))

    assert new["id"] != old["id"]
    stored = await load(engine, Customer, new["id"])
    assert stored is not None
    assert (stored.phone, stored.email) == (squatter.phone, squatter.email)
    let_go = await load(engine, Customer, old["id"])
    assert let_go is not None
    assert let_go.status == CustomerStatus.deleted
    assert (let_go.phone, let_go.email, let_go.password_hash) == (None, None, None)
    assert (await me(client, old_token)).status_code == 401
    assert (await post_login(client, squatter.email, PASSWORD)).status_code == 401
    # The new owner received a code of its own and confirms the phone with it.
    verified = await verify(client, rightful)
    assert verified["id"] == new["id"]


async def test_a_verified_account_keeps_its_phone_and_email_however_old(
    client: httpx.AsyncClient, engine: AsyncEngine, rate_limits: RateLimits
) -> None:
    owner = await open_account(client)
    clock.advance(30 * 24 * 3600)
    await rate_limits.let_pass(Limits.code_per_phone, owner.person.phone)

    decoy = await sign_up(client, new_person().but(phone=owner.person.phone))

    assert await load(engine, Customer, decoy["id"]) is None
    assert (await post_login(client, owner.person.phone, PASSWORD)).status_code == 200


async def test_simultaneous_sign_ups_with_one_email_store_one_account(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    email = new_email()
    people = [new_person().but(email=email) for _ in range(3)]

    responses = await asyncio.gather(*(post_signup(client, person) for person in people))

    assert [response.status_code for response in responses] == [201, 201, 201]
    stored = await load_all(engine, select(Customer).where(Customer.email_key == email))
    assert len(stored) == 1
    assert stored[0].id in {response.json()["customer"]["id"] for response in responses}


async def test_sign_ups_from_one_address_stop_at_ten_an_hour(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        await sign_up(client, new_person())

    response = await post_signup(client, new_person())

    assert_retry_after(response, at_most=3600)
    assert response.json()["error"]["code"] == "rate_limited"
