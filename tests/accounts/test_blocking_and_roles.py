"""Account status (active, blocked) and staff roles: what a blocked account still can do,
``ensure_can_buy`` (the check every purchase starts with) and ``require_role``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.accounts.helpers import (
    PASSWORD,
    Account,
    assert_error,
    log_in,
    me,
    new_person,
    open_account,
    sign_up,
)
from topup.accounts import service
from topup.accounts.auth import require_role
from topup.accounts.models import Customer, CustomerStatus, Role
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError, Forbidden, InvalidInput
from topup.runtime import Runtime


async def block(runtime: Runtime, customer_id: str, reason: str | None) -> Customer:
    async with unit_of_work(runtime.session_factory) as session:
        return await service.set_blocked(session, customer_id, reason=reason)


async def customer(runtime: Runtime, customer_id: str) -> Customer:
    async with runtime.session_factory() as session:
        found = await session.get(Customer, customer_id)
    assert found is not None
    return found


def refusal(found: Customer) -> Forbidden:
    with pytest.raises(Forbidden) as raised:
        service.ensure_can_buy(found)
    assert raised.value.status_code == 403
    return raised.value


async def test_a_blocked_account_logs_in_and_sees_why(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    account = await open_account(client)

    await block(runtime, account.id, "  Chargeback under review  ")

    token = await log_in(client, account.person.email)
    shown = (await me(client, token)).json()["customer"]
    assert (shown["status"], shown["block_reason"]) == ("blocked", "Chargeback under review")
    assert (await me(client, account.token)).status_code == 200  # sessions are not ended


async def test_a_blocked_account_cannot_buy(client: httpx.AsyncClient, runtime: Runtime) -> None:
    account = await open_account(client)
    await block(runtime, account.id, "Chargeback under review")

    error = refusal(await customer(runtime, account.id))

    assert error.code == "account_blocked"
    assert "Chargeback under review" in error.message


async def test_an_unblocked_account_can_buy_again(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    account = await open_account(client)
    await block(runtime, account.id, "Chargeback under review")

    unblocked = await block(runtime, account.id, None)

    assert (unblocked.status, unblocked.block_reason) == (CustomerStatus.active, None)
    found = await customer(runtime, account.id)
    assert service.ensure_can_buy(found) is found
    shown = (await me(client, account.token)).json()["customer"]
    assert (shown["status"], shown["block_reason"]) == ("active", None)


async def test_an_unverified_phone_cannot_buy(client: httpx.AsyncClient, runtime: Runtime) -> None:
    account = await open_account(client, verified=False)

    assert refusal(await customer(runtime, account.id)).code == "phone_not_verified"


async def test_a_blocked_and_unverified_account_is_told_about_the_block_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    account = await open_account(client, verified=False)
    await block(runtime, account.id, "Suspected fraud")

    assert refusal(await customer(runtime, account.id)).code == "account_blocked"


async def test_a_verified_active_account_can_buy(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    account = await open_account(client)

    found = await customer(runtime, account.id)

    assert service.ensure_can_buy(found) is found


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
async def test_a_block_needs_a_reason_of_at_most_200_characters(
    client: httpx.AsyncClient, runtime: Runtime, reason: str
) -> None:
    account = await open_account(client)

    with pytest.raises(InvalidInput) as raised:
        await block(runtime, account.id, reason)

    assert (raised.value.code, raised.value.field) == ("invalid_reason", "reason")
    assert (await customer(runtime, account.id)).status == CustomerStatus.active


async def test_an_unknown_or_deleted_account_cannot_be_blocked(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    account = await open_account(client)
    deleted = await client.request(
        "DELETE",
        "/v1/me",
        json={"password": PASSWORD},
        headers={"Authorization": f"Bearer {account.token}"},
    )
    assert deleted.status_code == 204

    for customer_id in ("cus_does_not_exist", account.id):
        with pytest.raises(InvalidInput) as raised:
            await block(runtime, customer_id, "Suspected fraud")
        assert raised.value.code == "customer_not_found"


# ---- roles -----------------------------------------------------------------------------------


async def staff(client: httpx.AsyncClient, runtime: Runtime, role: Role) -> Account:
    """A staff account as ``topup admin create`` makes it, logged in."""
    person = new_person(name=role.value)
    request = service.SignupRequest(
        person.first_name, person.last_name, person.phone, person.email, person.password
    )
    async with unit_of_work(runtime.session_factory) as session:
        made = await service.create_staff(session, runtime.accounts, request, role=role)
    assert made.role == role
    assert made.phone_verified_at is not None
    return Account(person, made.id, await log_in(client, person.email))


@pytest.fixture
async def guarded(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A tiny app with one route for support and admins, and one for admins only."""
    app = FastAPI()
    app.state.runtime = runtime

    async def app_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, AppError)
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)

    app.add_exception_handler(AppError, app_error)

    @app.get("/staff")
    async def for_staff(
        who: Annotated[Customer, Depends(require_role(Role.support, Role.admin))],
    ) -> dict[str, str]:
        return {"id": who.id, "role": who.role}

    @app.get("/admin")
    async def for_admins(
        who: Annotated[Customer, Depends(require_role(Role.admin))],
    ) -> dict[str, str]:
        return {"id": who.id, "role": who.role}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://guarded.test") as http:
        yield http


async def test_a_new_account_is_a_customer_and_cannot_choose_otherwise(
    client: httpx.AsyncClient,
) -> None:
    customer = await sign_up(client, new_person())
    assert customer["role"] == "customer"

    response = await client.post("/v1/auth/signup", json=new_person().body(role="admin"))

    assert_error(response, 422, "invalid_field", "role")


async def test_customers_are_kept_out_of_staff_routes(
    client: httpx.AsyncClient, guarded: httpx.AsyncClient
) -> None:
    account = await open_account(client)

    for path in ("/staff", "/admin"):
        response = await guarded.get(path, headers={"Authorization": f"Bearer {account.token}"})
        assert_error(response, 403, "forbidden")


async def test_support_reaches_staff_routes_but_not_admin_ones(
    client: httpx.AsyncClient, runtime: Runtime, guarded: httpx.AsyncClient
) -> None:
    support = await staff(client, runtime, Role.support)
    headers = {"Authorization": f"Bearer {support.token}"}

    allowed = await guarded.get("/staff", headers=headers)
    refused = await guarded.get("/admin", headers=headers)

    assert allowed.status_code == 200
    assert allowed.json() == {"id": support.id, "role": "support"}
    assert_error(refused, 403, "forbidden")


async def test_admins_reach_every_staff_route(
    client: httpx.AsyncClient, runtime: Runtime, guarded: httpx.AsyncClient
) -> None:
    admin = await staff(client, runtime, Role.admin)
    headers = {"Authorization": f"Bearer {admin.token}"}

    for path in ("/staff", "/admin"):
        response = await guarded.get(path, headers=headers)
        assert response.json() == {"id": admin.id, "role": "admin"}
    assert (await me(client, admin.token)).json()["customer"]["role"] == "admin"


async def test_staff_routes_need_a_live_token(
    client: httpx.AsyncClient, runtime: Runtime, guarded: httpx.AsyncClient
) -> None:
    admin = await staff(client, runtime, Role.admin)
    assert (
        await client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {admin.token}"})
    ).status_code == 204

    for headers in ({}, {"Authorization": f"Bearer {admin.token}"}):
        assert_error(await guarded.get("/admin", headers=headers), 401, "unauthorized")
