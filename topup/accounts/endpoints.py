"""``/v1/auth/*`` and ``/v1/me`` (API.md, "Accounts")."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from topup.accounts import service, sessions
from topup.accounts.auth import CurrentCustomer, CurrentSession
from topup.accounts.models import Customer
from topup.accounts.schemas import (
    AcceptedOut,
    CustomerEnvelope,
    CustomerOut,
    DeleteAccountIn,
    ForgotPasswordIn,
    LoginIn,
    ResendCodeIn,
    ResetPasswordIn,
    SignupIn,
    TokenOut,
    UpdateMeIn,
    VerifyPhoneIn,
)
from topup.kit.db import unit_of_work
from topup.kit.http import RuntimeDep, SessionDep
from topup.kit.schemas import error_responses

router = APIRouter(prefix="/v1", tags=["accounts"])


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
        email=customer.email,
        phone_verified=customer.phone_verified_at is not None,
        status=customer.status,
        block_reason=customer.block_reason,
        role=customer.role,
        language=customer.language,
        date_of_birth=customer.date_of_birth,
        residence_country=customer.residence_country,
    )


@router.post(
    "/auth/signup",
    status_code=201,
    response_model=CustomerEnvelope,
    responses=error_responses(422, 429),
)
async def signup(
    body: SignupIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> CustomerEnvelope:
    """Open an account; a 6-digit code goes to the phone by SMS."""
    customer = await service.sign_up(
        session,
        runtime.accounts,
        service.SignupRequest(
            body.first_name, body.last_name, body.phone, body.email, body.password, body.language
        ),
        client_ip=client_ip(request),
    )
    return CustomerEnvelope(customer=customer_out(customer))


@router.post(
    "/auth/verify-phone",
    response_model=CustomerEnvelope,
    responses=error_responses(400, 422, 429),
)
async def verify_phone(
    body: VerifyPhoneIn, request: Request, runtime: RuntimeDep
) -> CustomerEnvelope:
    """Confirm the phone with the SMS code. Wrong codes are counted even though they fail,
    so the unit of work is committed before the error is answered."""
    async with unit_of_work(runtime.session_factory) as session:
        result = await service.verify_phone(
            session,
            runtime.accounts,
            phone=body.phone,
            code=body.code,
            client_ip=client_ip(request),
        )
    if result.error is not None:
        raise result.error
    assert result.customer is not None
    return CustomerEnvelope(customer=customer_out(result.customer))


@router.post(
    "/auth/verify-phone/resend",
    status_code=202,
    response_model=AcceptedOut,
    responses=error_responses(422, 429),
)
async def resend_code(body: ResendCodeIn, runtime: RuntimeDep, session: SessionDep) -> AcceptedOut:
    """Send a new code (at most one a minute, five an hour); the answer never says whether
    the number has an account."""
    await service.resend_code(session, runtime.accounts, phone=body.phone)
    return AcceptedOut()


@router.post("/auth/login", response_model=TokenOut, responses=error_responses(401, 422, 429))
async def login(
    body: LoginIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> TokenOut:
    issued = await sessions.log_in(
        session,
        runtime.accounts,
        login=body.login,
        password=body.password,
        client_ip=client_ip(request),
    )
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=204, responses=error_responses(401))
async def logout(authenticated: CurrentSession, session: SessionDep) -> Response:
    await sessions.log_out(session, authenticated.token_id)
    return Response(status_code=204)


@router.post(
    "/auth/password/forgot",
    status_code=202,
    response_model=AcceptedOut,
    responses=error_responses(422, 429),
)
async def forgot_password(
    body: ForgotPasswordIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> AcceptedOut:
    """Email a reset link if the address has an account; the answer is 202 either way."""
    await sessions.forgot_password(
        session, runtime.accounts, email=body.email, client_ip=client_ip(request)
    )
    return AcceptedOut()


@router.post(
    "/auth/password/reset",
    response_model=CustomerEnvelope,
    responses=error_responses(400, 422),
)
async def reset_password(
    body: ResetPasswordIn, runtime: RuntimeDep, session: SessionDep
) -> CustomerEnvelope:
    """Choose a new password; every session of the account ends."""
    customer = await sessions.reset_password(
        session, runtime.accounts, token=body.token, password=body.password
    )
    return CustomerEnvelope(customer=customer_out(customer))


@router.get("/me", response_model=CustomerEnvelope, responses=error_responses(401))
async def me(customer: CurrentCustomer) -> CustomerEnvelope:
    return CustomerEnvelope(customer=customer_out(customer))


@router.patch("/me", response_model=CustomerEnvelope, responses=error_responses(401, 422))
async def update_me(
    body: UpdateMeIn, customer: CurrentCustomer, session: SessionDep
) -> CustomerEnvelope:
    """Change what the account may change of itself: the language its messages speak, and
    the date of birth and country of residence that some markets' rules ask for."""
    changes = service.ProfileChanges(
        language=body.language,
        date_of_birth=body.date_of_birth,
        residence_country=body.residence_country,
        given=frozenset(body.model_fields_set),
    )
    updated = await service.update_profile(session, customer.id, changes)
    return CustomerEnvelope(customer=customer_out(updated))


@router.delete("/me", status_code=204, responses=error_responses(401, 422, 429))
async def delete_me(
    body: DeleteAccountIn, customer: CurrentCustomer, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Erase the account's personal data; its orders stay, without them. If the wallet
    still holds money, send `give_up_balance: true` to confirm it is given up (or spend it
    first); without it the answer is 422 `wallet_balance_remaining`."""
    await service.delete_account(
        session,
        runtime.accounts,
        customer,
        password=body.password,
        give_up_balance=body.give_up_balance,
    )
    return Response(status_code=204)
