"""PATCH /v1/me: the date of birth and country of residence that market rules ask for."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.helpers import assert_error, bearer, me, new_person, open_account
from topup.kit import clock
from topup.risk.models import RiskDecision


async def patch_me(client: httpx.AsyncClient, token: str, body: object) -> httpx.Response:
    return await client.patch("/v1/me", json=body, headers=bearer(token))


async def test_date_of_birth_and_residence_are_kept_and_shown(client: httpx.AsyncClient) -> None:
    account = await open_account(client, new_person("IT"))

    changed = await patch_me(
        client, account.token, {"date_of_birth": "1990-05-17", "residence_country": "IT"}
    )

    assert changed.status_code == 200, changed.text
    customer = (await me(client, account.token)).json()["customer"]
    assert (customer["date_of_birth"], customer["residence_country"]) == ("1990-05-17", "IT")
    assert customer["language"] == "it"  # untouched: it was not named


async def test_a_named_null_clears_a_field_and_an_absent_one_stays(
    client: httpx.AsyncClient,
) -> None:
    account = await open_account(client)
    await patch_me(
        client, account.token, {"date_of_birth": "1990-05-17", "residence_country": "IT"}
    )

    await patch_me(client, account.token, {"residence_country": None})

    customer = (await me(client, account.token)).json()["customer"]
    assert (customer["date_of_birth"], customer["residence_country"]) == ("1990-05-17", None)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"date_of_birth": "not a date"}, "invalid_field", "date_of_birth"),
        ({"date_of_birth": 0}, "invalid_field", "date_of_birth"),
        ({"date_of_birth": "1990-02-30"}, "invalid_date_of_birth", "date_of_birth"),
        ({"date_of_birth": "1890-01-01"}, "invalid_date_of_birth", "date_of_birth"),
        ({"residence_country": "it"}, "invalid_country", "residence_country"),
        ({"residence_country": "ZZ"}, "invalid_country", "residence_country"),
        ({"residence_country": "ITA"}, "invalid_country", "residence_country"),
        ({"residence_country": "IT", "language": "de"}, "unsupported_language", "language"),
    ],
)
async def test_a_bad_profile_change_is_refused_whole(
    client: httpx.AsyncClient, body: object, code: str, field: str
) -> None:
    account = await open_account(client)

    assert_error(await patch_me(client, account.token, body), 422, code, field)

    customer = (await me(client, account.token)).json()["customer"]
    assert (customer["date_of_birth"], customer["residence_country"]) == (None, None)


async def test_a_birth_date_in_the_future_is_refused(client: httpx.AsyncClient) -> None:
    account = await open_account(client)
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()

    response = await patch_me(client, account.token, {"date_of_birth": tomorrow})

    assert_error(response, 422, "invalid_date_of_birth", "date_of_birth")


async def test_a_change_to_what_market_rules_read_is_audited(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    account = await open_account(client)

    await patch_me(client, account.token, {"residence_country": "IT"})
    await patch_me(client, account.token, {"language": "fr"})  # not a market input

    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(RiskDecision.kind, RiskDecision.actor, RiskDecision.inputs).where(
                    RiskDecision.customer_id == account.id
                )
            )
        ).all()
    assert [(kind, actor) for kind, actor, _ in rows] == [("profile", account.id)]
    assert rows[0][2]["residence_country"] == [None, "IT"]
