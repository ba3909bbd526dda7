"""FastAPI dependencies that tell who is calling: the bearer token's customer, and roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from topup.accounts.models import Customer, CustomerStatus, Role
from topup.accounts.sessions import Authenticated, authenticate
from topup.kit.errors import Forbidden, Unauthorized
from topup.kit.http import RuntimeDep

BEARER = "bearer "


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER) or not header[len(BEARER) :].strip():
        raise Unauthorized(
            "Log in and send the token as `Authorization: Bearer <token>`.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return header[len(BEARER) :].strip()


async def current_session(request: Request, runtime: RuntimeDep) -> Authenticated:
    # A short session of its own: the connection goes back to the pool at once, instead of
    # being held for the whole request beside the ones the endpoint opens.
    async with runtime.session_factory() as session:
        return await authenticate(session, bearer_token(request))


CurrentSession = Annotated[Authenticated, Depends(current_session)]


async def current_customer(authenticated: CurrentSession) -> Customer:
    return authenticated.customer


CurrentCustomer = Annotated[Customer, Depends(current_customer)]


def require_role(*roles: Role) -> Callable[[Customer], Awaitable[Customer]]:
    """A dependency that lets only the given staff roles through (403 for anyone else)."""
    allowed = {role.value for role in roles}

    async def check(customer: CurrentCustomer) -> Customer:
        if customer.role not in allowed:
            raise Forbidden("Your account cannot do this.", code="forbidden")
        if customer.status != CustomerStatus.active:  # a blocked staff account is disarmed
            raise Forbidden("This staff account is blocked.", code="account_blocked")
        return customer

    return check
