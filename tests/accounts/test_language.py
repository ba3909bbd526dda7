"""The account's language: first from the phone's country or chosen at sign-up, changed
with PATCH /v1/me, and the one every later email and SMS of the account speaks."""

from __future__ import annotations

import httpx
import pytest

from tests.accounts.helpers import (
    assert_error,
    bearer,
    forgot,
    me,
    messages,
    new_person,
    open_account,
)


async def patch_me(client: httpx.AsyncClient, token: str, body: object) -> httpx.Response:
    return await client.patch("/v1/me", json=body, headers=bearer(token))


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("FR", "Votre code Topup est"),
        ("IT", "Il suo codice Topup è"),
        ("MX", "Su código Topup es"),
        ("NG", "Your Topup code is"),
    ],
)
async def test_the_code_sms_speaks_the_language_of_the_phones_country(
    client: httpx.AsyncClient, country: str, expected: str
) -> None:
    person = new_person(country)
    response = await client.post("/v1/auth/signup", json=person.body())
    assert response.status_code == 201

    [sms] = await messages(client, person.phone)

    assert sms["body"].startswith(expected)
    assert sms["language"] == response.json()["customer"]["language"]


async def test_a_language_chosen_at_sign_up_wins_over_the_phones_country(
    client: httpx.AsyncClient,
) -> None:
    person = new_person("NG")
    response = await client.post("/v1/auth/signup", json=person.body() | {"language": "it"})

    assert response.status_code == 201
    assert response.json()["customer"]["language"] == "it"
    [sms] = await messages(client, person.phone)
    assert sms["body"].startswith("Il suo codice Topup è")


@pytest.mark.parametrize("language", ["de", "FR", "", "english"])
async def test_a_language_topup_does_not_write_is_refused_at_sign_up(
    client: httpx.AsyncClient, language: str
) -> None:
    person = new_person()
    response = await client.post("/v1/auth/signup", json=person.body() | {"language": language})

    assert_error(response, 422, "unsupported_language", "language")
    assert await messages(client, person.phone) == []


async def test_the_language_can_be_changed_and_later_emails_follow_it(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client, new_person("NG"))

    changed = await patch_me(client, account.token, {"language": "fr"})

    assert changed.status_code == 200, changed.text
    assert changed.json()["customer"]["language"] == "fr"
    assert (await me(client, account.token)).json()["customer"]["language"] == "fr"
    assert (await forgot(client, account.person.email)).status_code == 202
    [reset] = await messages(client, account.person.email)
    assert reset["subject"] == "Réinitialisez votre mot de passe Topup"
    assert reset["body"].startswith("Bonjour Ada,")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"language": "de"}, "unsupported_language", "language"),
        ({}, "missing_field", None),
        ({"language": None}, "unsupported_language", "language"),
        ({"language": "fr", "email": "new@example.com"}, "invalid_field", "email"),
    ],
)
async def test_a_bad_change_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, body: object, code: str, field: str | None
) -> None:
    account = await open_account(client, new_person("NG"))

    assert_error(await patch_me(client, account.token, body), 422, code, field)
    assert (await me(client, account.token)).json()["customer"]["language"] == "en"


async def test_changing_the_language_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.patch("/v1/me", json={"language": "fr"})

    assert response.status_code == 401
