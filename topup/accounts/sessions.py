"""Logging in and out, bearer tokens, forgotten and reset passwords.

Login answers "wrong email, phone or password" for every failure, and checks a password
even when no account matches, so neither the answer nor its timing says which part was
wrong. The forgotten-password request always answers 202 and writes the same row either
way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import AccessToken, Customer, CustomerStatus, PasswordReset
from topup.accounts.policy import (
    RESET_LIFETIME,
    AccountPolicy,
    Limits,
    checked_email,
    checked_password,
    email_key,
)
from topup.accounts.repository import AccountRepository
from topup.accounts.security import new_token, token_digest
from topup.kit import clock
from topup.kit.errors import AppError, InvalidInput, Unauthorized
from topup.kit.ids import new_id
from topup.kit.phone import parse_phone
from topup.notifications import service as notifications


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def _invalid_credentials() -> Unauthorized:
    return Unauthorized(
        "The email, phone or password is not right.", code="invalid_credentials", field="login"
    )


def login_key(login: str) -> str | None:
    """What the login names: a lower-cased email, an E.164 phone, or None if neither."""
    text = login.strip()
    try:
        if "@" in text:
            # Normalised exactly as at sign-up, and never a string the database would refuse
            # (PostgreSQL rejects a NUL in text): anything else is simply an unknown login.
            return email_key(checked_email(text, field="login"))
        return parse_phone(text, field="login").e164
    except InvalidInput:
        return None


async def log_in(
    session: AsyncSession, policy: AccountPolicy, *, login: str, password: str, client_ip: str
) -> IssuedToken:
    await policy.limiter.hit(Limits.login_per_ip, client_ip)
    key = login_key(login)
    # Every attempt counts, successes too: ten logins in fifteen minutes is far beyond what
    # a person does, so nothing needs resetting after a success.
    await policy.limiter.hit(Limits.login_per_account, key or login.strip().lower()[:320])
    repository = AccountRepository(session)
    customer = None
    if key is not None:
        finder = repository.customer_by_email if "@" in key else repository.customer_by_phone
        customer = await finder(key)
    if customer is not None and customer.status == CustomerStatus.deleted:
        customer = None
    password_hash = customer.password_hash if customer else None
    if not await policy.passwords.verify(password_hash, password) or customer is None:
        raise _invalid_credentials()
    assert customer.password_hash is not None
    if policy.passwords.needs_rehash(customer.password_hash):
        customer.password_hash = await policy.passwords.hash(password)
    return issue_token(session, policy, customer)


def issue_token(session: AsyncSession, policy: AccountPolicy, customer: Customer) -> IssuedToken:
    token = new_token()
    now = clock.now()
    session.add(
        AccessToken(
            id=new_id("tok"),
            customer_id=customer.id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + policy.session_ttl,
            revoked_at=None,
        )
    )
    return IssuedToken(token, int(policy.session_ttl.total_seconds()))


@dataclass(frozen=True)
class Authenticated:
    customer: Customer
    token_id: str


async def authenticate(session: AsyncSession, token: str) -> Authenticated:
    """The customer a bearer token belongs to; 401 for unknown, expired or revoked ones."""
    repository = AccountRepository(session)
    row = await repository.live_token(token_digest(token), now=clock.now())
    customer = await repository.customer(row.customer_id) if row else None
    if row is None or customer is None or customer.status == CustomerStatus.deleted:
        raise Unauthorized(
            "Log in to continue.", code="unauthorized", headers={"WWW-Authenticate": "Bearer"}
        )
    return Authenticated(customer, row.id)


async def log_out(session: AsyncSession, token_id: str) -> None:
    await AccountRepository(session).revoke_token(token_id, now=clock.now())


async def forgot_password(
    session: AsyncSession, policy: AccountPolicy, *, email: str, client_ip: str
) -> None:
    address = checked_email(email)
    await policy.limiter.hit(Limits.forgot_per_ip, client_ip)
    await policy.limiter.hit(Limits.forgot_per_email, email_key(address))
    customer = await AccountRepository(session).customer_by_email(email_key(address))
    if customer is not None and customer.status == CustomerStatus.deleted:
        customer = None
    token = new_token()
    now = clock.now()
    session.add(
        PasswordReset(
            id=new_id("pwr"),
            customer_id=customer.id if customer else None,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + RESET_LIFETIME,
            used_at=None,
        )
    )
    if customer is None or customer.email is None:
        return
    link = f"{policy.public_url.rstrip('/')}/reset-password?token={quote(token)}"
    minutes = int(RESET_LIFETIME.total_seconds() // 60)
    notifications.email(
        session,
        kind="password_reset",
        to=customer.email,
        language=customer.language,
        customer_id=customer.id,
        expires_in=RESET_LIFETIME,
        first_name=customer.first_name,
        link=link,
        token=token,
        minutes=minutes,
    )


async def reset_password(
    session: AsyncSession, policy: AccountPolicy, *, token: str, password: str
) -> Customer:
    """Set a new password with a reset token; every session of the account ends."""
    new_password = checked_password(password)
    repository = AccountRepository(session)
    now = clock.now()
    reset = await repository.usable_reset(token_digest(token), now=now)
    customer = (
        await repository.customer(reset.customer_id, for_update=True)
        if (reset and reset.customer_id)
        else None
    )
    if reset is None or customer is None or customer.status == CustomerStatus.deleted:
        raise AppError(
            "This reset link is unknown, used or expired; ask for a new one.",
            code="invalid_token",
            field="token",
        )
    customer.password_hash = await policy.passwords.hash(new_password)
    await repository.spend_resets(customer.id, now=now)
    await repository.revoke_tokens(customer.id, now=now)
    return customer
