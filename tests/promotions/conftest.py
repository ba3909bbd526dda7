"""Admins, customers and promo codes for the promotions tests, on the shared databases.

Every test issues codes of its own (random names) and asserts only about its own codes,
orders and redemptions, never about counts of a whole table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.orders.conftest import FINAL, order_body, place, settle

# The refunds tests' accounts and checks serve here too (``person`` is a fixture).
from tests.refunds.conftest import MakePerson as MakePerson
from tests.refunds.conftest import Person as Person
from tests.refunds.conftest import assert_ledger_clean as assert_ledger_clean
from tests.refunds.conftest import person as person
from tests.refunds.conftest import stored_order as stored_order
from topup.accounts.models import Role
from topup.kit import clock, faults
from topup.promotions.models import PromoCode, PromoRedemption
from topup.runtime import Runtime

Headers = dict[str, str]
SUCCEEDS = "+2348031234567"  # MTN Nigeria; the simulator delivers at once
FAILS = "+2348031230001"  # the simulator fails numbers ending 0001 at once
PRODUCT = "ng-mtn-10000"  # 7.94 EUR
PRODUCT_PRICE = 794


@pytest.fixture
async def admin(person: MakePerson) -> Person:
    return await person(Role.admin.value)


@pytest.fixture(autouse=True)
def _no_armed_faults() -> Iterator[None]:
    yield
    faults.disarm()


def new_code() -> str:
    return f"T{uuid.uuid4().hex[:12]}"


def code_terms(**terms: Any) -> dict[str, Any]:
    """A 10 % code valid from an hour ago for 30 days; ``terms`` change any of it."""
    now = clock.now()
    return {
        "code": new_code(),
        "kind": "percent",
        "percent_off": "10",
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
    } | terms


async def issue(client: httpx.AsyncClient, admin: Person, **terms: Any) -> dict[str, Any]:
    """A code issued through the admin API; its answer."""
    response = await client.post(
        "/v1/admin/promo-codes", json=code_terms(**terms), headers=admin.headers
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def preview(
    client: httpx.AsyncClient, who: Person, code: str, product_id: str = PRODUCT, **extra: Any
) -> httpx.Response:
    body = {"code": code, "product_id": product_id} | extra
    return await client.post("/v1/promo-codes/preview", json=body, headers=who.headers)


def refusal(response: httpx.Response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


async def order_with(
    client: httpx.AsyncClient,
    who: Person,
    code: str | None,
    phone: str = SUCCEEDS,
    **extra: Any,
) -> httpx.Response:
    body = order_body(phone, product_id=PRODUCT, confirm_duplicate=True, **extra)
    if code is not None:
        body["promo_code"] = code
    return await place(client, who.headers, body)


async def finished(
    client: httpx.AsyncClient, runtime: Runtime, who: Person, order_id: str
) -> dict[str, Any]:
    """The order once the worker has taken it to its end."""
    order: dict[str, Any] = {}
    for _ in range(4):
        response = await client.get(f"/v1/orders/{order_id}", headers=who.headers)
        assert response.status_code == 200, response.text
        order = response.json()
        if order["status"] in FINAL:
            return order
        await settle(runtime, rounds=3)
    raise AssertionError(f"order {order_id} did not end: {order}")


async def stored_code(runtime: Runtime, code_id: str) -> PromoCode:
    async with runtime.session_factory() as session:
        row = await session.get(PromoCode, code_id)
    assert row is not None
    return row


async def redemptions_of(runtime: Runtime, code_id: str) -> list[PromoRedemption]:
    async with runtime.session_factory() as session:
        query = select(PromoRedemption).where(PromoRedemption.promo_code_id == code_id)
        return list((await session.scalars(query)).all())
