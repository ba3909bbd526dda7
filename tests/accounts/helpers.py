"""Small journeys through the accounts API: sign up, read the SMS, verify, log in.

Every secret a test needs (the SMS code, the reset token) is read where a customer would
find it: in the message the service sent, through ``GET /v1/sandbox/messages``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from topup.kit.db import Base
from topup.kit.errors import InvalidInput
from topup.kit.phone import parse_phone

PASSWORD = "correct horse battery"
NEW_PASSWORD = "tr0ubadour & 3 more words"
CODE = re.compile(r"\b(\d{6})\b")
RESET_TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")

# Mobile ranges, with how many digits follow each prefix.
_MOBILE_RANGES = {
    "NG": ("+234803", 7),
    "FR": ("+336", 8),
    "IT": ("+39312", 7),
    "MX": ("+5255", 8),
}
_handed_out: set[str] = set()

ModelT = TypeVar("ModelT", bound=Base)


def new_phone(country: str = "NG") -> str:
    """A valid mobile number, in E.164, that no other test of this session uses."""
    prefix, digits = _MOBILE_RANGES[country]
    while True:
        candidate = f"{prefix}{secrets.randbelow(10**digits):0{digits}d}"
        if candidate in _handed_out:
            continue
        try:
            parsed = parse_phone(candidate)
        except InvalidInput:  # not every number of a mobile range is allocated
            continue
        if parsed.is_mobile and parsed.e164 == candidate:
            _handed_out.add(candidate)
            return candidate


def new_email(name: str = "ada") -> str:
    return f"{name}.{secrets.token_hex(6)}@example.com"


def spaced(e164: str) -> str:
    """A Nigerian E.164 number as people write it: ``+234 803 123 4567``."""
    return f"{e164[:4]} {e164[4:7]} {e164[7:10]} {e164[10:]}"


def dashed_with_00(e164: str) -> str:
    """``00234-803-123-4567``."""
    return f"00{e164[1:4]}-{e164[4:7]}-{e164[7:10]}-{e164[10:]}"


def bracketed(e164: str) -> str:
    """``(+234) 803-123-4567``."""
    return f"({e164[:4]}) {e164[4:7]}-{e164[7:10]}-{e164[10:]}"


@dataclass(frozen=True)
class Person:
    """Someone about to sign up: what they type in the form."""

    first_name: str
    last_name: str
    phone: str
    email: str
    password: str = PASSWORD

    def body(self, **changes: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "email": self.email,
            "password": self.password,
        }
        return fields | changes

    def but(self, **changes: str) -> Person:
        return replace(self, **changes)


def new_person(country: str = "NG", *, name: str = "ada") -> Person:
    return Person(
        first_name=name.capitalize(),
        last_name="Lovelace",
        phone=new_phone(country),
        email=new_email(name),
    )


@dataclass(frozen=True)
class Account:
    """A stored account, with the token of one logged-in session."""

    person: Person
    id: str
    token: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_signup(client: httpx.AsyncClient, person: Person) -> httpx.Response:
    return await client.post("/v1/auth/signup", json=person.body())


async def sign_up(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    """Sign up and return the customer of the 201 answer."""
    response = await post_signup(client, person)
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


async def messages(client: httpx.AsyncClient, to: str) -> list[dict[str, Any]]:
    """What the service sent to ``to`` (a phone or an email), newest first."""
    response = await client.get("/v1/sandbox/messages", params={"to": to})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def sms_code(client: httpx.AsyncClient, phone: str) -> str:
    """The 6-digit code of the newest SMS to ``phone`` that carries one."""
    for message in await messages(client, phone):
        found = CODE.search(message["body"]) if message["channel"] == "sms" else None
        if found:
            return found.group(1)
    raise AssertionError(f"no SMS with a code was sent to {phone}")


async def verify_phone(client: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    return await client.post("/v1/auth/verify-phone", json={"phone": phone, "code": code})


async def verify(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    """Confirm the phone with the code it received; returns the verified customer."""
    response = await verify_phone(client, person.phone, await sms_code(client, person.phone))
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    assert customer["phone_verified"] is True
    return customer


async def post_login(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"login": login, "password": password})


async def log_in(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> str:
    """Log in and return the bearer token."""
    response = await post_login(client, login, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def open_account(
    client: httpx.AsyncClient, person: Person | None = None, *, verified: bool = True
) -> Account:
    """Sign up, (optionally) verify the phone and log in."""
    person = person or new_person()
    customer = await sign_up(client, person)
    if verified:
        await verify(client, person)
    return Account(person, customer["id"], await log_in(client, person.email, person.password))


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/me", headers=bearer(token))


async def forgot(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/v1/auth/password/forgot", json={"email": email})


async def reset_token(client: httpx.AsyncClient, email: str) -> str:
    """The token of the newest password-reset email sent to ``email``."""
    for message in await messages(client, email):
        found = RESET_TOKEN.search(message["body"]) if message["channel"] == "email" else None
        if found:
            return found.group(1)
    raise AssertionError(f"no reset email was sent to {email}")


async def reset(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/password/reset", json={"token": token, "password": password})


async def delete_me(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.request(
        "DELETE", "/v1/me", json={"password": password}, headers=bearer(token)
    )


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> None:
    """The answer is ``{"error": {"code", "message", "field"?}}`` with this status."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error.get("field") == field, error
    assert isinstance(error["message"], str)
    assert error["message"]


def assert_retry_after(response: httpx.Response, *, at_most: int) -> None:
    """A 429 that says, in whole seconds, when to try again."""
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= at_most


# ---- reading the database -----------------------------------------------------------------


async def load(engine: AsyncEngine, model: type[ModelT], key: str) -> ModelT | None:
    async with AsyncSession(engine) as session:
        return await session.get(model, key)


async def load_all(engine: AsyncEngine, statement: Select[ModelT]) -> list[ModelT]:
    async with AsyncSession(engine) as session:
        return list((await session.scalars(statement)).all())


async def count(engine: AsyncEngine, statement: Select[int]) -> int:
    async with AsyncSession(engine) as session:
        return (await session.execute(statement)).scalar_one()
