"""Sign-up, phone verification, blocking and deletion.

Sign-up never says whether an email or phone already has an account: that answer would
let anyone test which people are customers. A taken address gets the same 201 with an
unsaved "decoy" customer, and the real owner is told by email or SMS that someone tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from topup.accounts.models import Customer, CustomerStatus, PhoneVerification, Role
from topup.accounts.policy import (
    CODE_LIFETIME,
    CODE_MAX_TRIES,
    UNVERIFIED_HOLD,
    AccountPolicy,
    Limits,
    checked_birth_date,
    checked_country,
    checked_email,
    checked_language,
    checked_name,
    checked_password,
    email_key,
)
from topup.accounts.repository import AccountRepository
from topup.accounts.security import CODE_DIGITS, code_digest, codes_match, new_code
from topup.kit import clock
from topup.kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidInput,
    TooManyRequests,
    Unauthorized,
)
from topup.kit.i18n import language_for
from topup.kit.ids import new_id
from topup.kit.phone import ParsedPhone, invalid_phone, parse_phone
from topup.notifications import service as notifications
from topup.notifications.repository import MessageRepository
from topup.payments.repository import CardRepository
from topup.risk import audit
from topup.schedules.repository import ScheduleRepository
from topup.subscriptions.repository import SubscriptionRepository
from topup.wallet import accounting as wallet


@dataclass(frozen=True)
class SignupRequest:
    first_name: str
    last_name: str
    phone: str
    email: str
    password: str
    language: str | None = None


BLOCK_REASON_MAX_LENGTH = 200  # the column's size
CODE_RESEND_SECONDS = 60  # a new code can be asked for once a minute (Limits.code_per_phone)


def mobile_phone(raw: str, field: str = "phone") -> ParsedPhone:
    parsed = parse_phone(raw, field=field)
    if not parsed.is_mobile:
        raise invalid_phone("Use a mobile number: the confirmation code comes by SMS.", field)
    return parsed


async def sign_up(
    session: AsyncSession, policy: AccountPolicy, request: SignupRequest, *, client_ip: str
) -> Customer:
    await policy.limiter.hit(Limits.signup_per_ip, client_ip)
    customer = await _new_customer(policy, request, role=Role.customer)
    assert customer.phone is not None
    assert customer.email is not None
    await _throttle_codes(policy, customer.phone)
    repository = AccountRepository(session)
    holders = await _current_holders(repository, customer)
    if not holders:
        try:
            async with session.begin_nested():  # a concurrent sign-up may take them first
                repository.add(customer)
                await repository.flush()
        except IntegrityError:
            holders = await _current_holders(repository, customer)
    if holders:
        _warn_holders(session, holders, email=customer.email, phone=customer.phone)
        if all(holder.phone != customer.phone for holder in holders):
            # The phone given is free (only the email is taken): it gets an SMS all the same,
            # with a code that confirms nothing, or its silence would tell the email is known.
            _send_decoy_code(session, customer.phone, customer.language)
        return customer  # the decoy: never added to the session, never stored
    await _send_code(session, policy, customer)
    return customer


async def _new_customer(policy: AccountPolicy, request: SignupRequest, *, role: Role) -> Customer:
    """A checked, not yet stored account; every rule names the field that broke it."""
    first_name = checked_name(request.first_name, "first_name")
    last_name = checked_name(request.last_name, "last_name")
    phone = mobile_phone(request.phone)
    email = checked_email(request.email)
    password_hash = await policy.passwords.hash(checked_password(request.password))
    return Customer(
        id=new_id("cus"),
        first_name=first_name,
        last_name=last_name,
        email=email,
        email_key=email_key(email),
        phone=phone.e164,
        password_hash=password_hash,
        status=CustomerStatus.active.value,
        role=role.value,
        language=(
            checked_language(request.language)
            if request.language is not None
            else language_for(phone.region)
        ),
        country_iso2=phone.region,
        created_at=clock.now(),
    )


async def _current_holders(repository: AccountRepository, candidate: Customer) -> list[Customer]:
    """Accounts that hold the candidate's email or phone; stale unverified ones let go."""
    assert candidate.email_key is not None
    assert candidate.phone is not None
    found = [
        await repository.customer_by_email(candidate.email_key, for_update=True),
        await repository.customer_by_phone(candidate.phone, for_update=True),
    ]
    holders: list[Customer] = []
    for holder in found:
        if holder is None or holder in holders:
            continue
        if holder.phone_verified_at is None and holder.created_at < clock.now() - UNVERIFIED_HOLD:
            await _erase(repository, holder)
            continue
        holders.append(holder)
    await repository.flush()
    return holders


def _warn_holders(
    session: AsyncSession, holders: list[Customer], *, email: str, phone: str
) -> None:
    for holder in holders:
        if holder.email_key == email_key(email) and holder.email:
            notifications.email(
                session,
                kind="signup_attempt",
                to=holder.email,
                language=holder.language,
                customer_id=holder.id,
            )
        if holder.phone == phone:
            notifications.sms(
                session,
                kind="signup_attempt",
                to=phone,
                language=holder.language,
                customer_id=holder.id,
            )


async def _throttle_codes(policy: AccountPolicy, phone: str) -> None:
    message = "A code was sent to this number moments ago; wait before asking for another."
    await policy.limiter.hit(Limits.code_per_phone, phone, message=message)
    await policy.limiter.hit(Limits.code_per_phone_hourly, phone, message=message)


def _send_decoy_code(session: AsyncSession, phone: str, language: str) -> None:
    _code_sms(session, phone, language, code=new_code(), customer_id=None)


def _code_sms(
    session: AsyncSession, phone: str, language: str, *, code: str, customer_id: str | None
) -> None:
    notifications.sms(
        session,
        kind="phone_verification",
        to=phone,
        language=language,
        customer_id=customer_id,
        expires_in=CODE_LIFETIME,  # a late code is a wrong code
        code=code,
        minutes=int(CODE_LIFETIME.total_seconds() // 60),
    )


async def _send_code(session: AsyncSession, policy: AccountPolicy, customer: Customer) -> None:
    assert customer.phone is not None
    now = clock.now()
    code = new_code()
    verification = PhoneVerification(
        id=new_id("pv"),
        customer_id=customer.id,
        attempts=0,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        closed_at=None,
        code_hash="",
    )
    verification.code_hash = code_digest(policy.secret_key, verification.id, code)
    session.add(verification)
    await notifications.supersede(session, customer.id, "phone_verification")
    _code_sms(session, customer.phone, customer.language, code=code, customer_id=customer.id)


async def create_staff(
    session: AsyncSession, policy: AccountPolicy, request: SignupRequest, *, role: Role
) -> Customer:
    """A support or admin account, made by an operator at the command line. Unlike sign-up
    it says plainly when the email or phone is taken: only staff run it."""
    customer = await _new_customer(policy, request, role=role)
    customer.phone_verified_at = customer.created_at
    repository = AccountRepository(session)
    if customer.email_key and await repository.customer_by_email(customer.email_key):
        raise Conflict(
            f"{customer.email} already has an account.", code="email_taken", field="email"
        )
    if customer.phone and await repository.customer_by_phone(customer.phone):
        raise Conflict(
            f"{customer.phone} already has an account.", code="phone_taken", field="phone"
        )
    repository.add(customer)
    await repository.flush()
    return customer


async def resend_code(session: AsyncSession, policy: AccountPolicy, *, phone: str) -> None:
    """Send a fresh code; the answer is the same whether or not the number has an account."""
    parsed = mobile_phone(phone)
    await _throttle_codes(policy, parsed.e164)
    repository = AccountRepository(session)
    customer = await repository.customer_by_phone(parsed.e164, for_update=True)
    if customer is None or customer.phone_verified_at is not None:
        return
    if customer.status == CustomerStatus.deleted:
        return
    await repository.close_verifications(customer.id, now=clock.now())
    await _send_code(session, policy, customer)


@dataclass(frozen=True)
class VerificationResult:
    """Either the verified customer or the error to answer with *after* committing, so a
    wrong guess is still counted against the code."""

    customer: Customer | None
    error: AppError | None


def _wrong_code() -> AppError:
    return AppError(
        "The code is wrong or has expired; ask for a new one if needed.",
        code="invalid_code",
        field="code",
    )


async def verify_phone(
    session: AsyncSession, policy: AccountPolicy, *, phone: str, code: str, client_ip: str
) -> VerificationResult:
    parsed = mobile_phone(phone)
    await policy.limiter.hit(Limits.verify_per_ip, client_ip)
    await policy.limiter.hit(Limits.verify_per_phone, parsed.e164)
    repository = AccountRepository(session)
    customer = await repository.customer_by_phone(parsed.e164, for_update=True)
    if customer is None or customer.phone_verified_at is not None:
        return VerificationResult(None, _wrong_code())
    now = clock.now()
    verification = await repository.open_verification(customer.id, now=now)
    if verification is None or verification.expires_at <= now:
        return VerificationResult(None, _wrong_code())
    verification.attempts += 1
    well_formed = len(code) == CODE_DIGITS and code.isascii() and code.isdigit()
    if well_formed and codes_match(
        verification.code_hash, policy.secret_key, verification.id, code
    ):
        verification.closed_at = now
        customer.phone_verified_at = now
        return VerificationResult(customer, None)
    if verification.attempts >= CODE_MAX_TRIES:
        verification.closed_at = now
        return VerificationResult(
            None,
            TooManyRequests(
                "Too many wrong codes: ask for a new one.",
                code="too_many_attempts",
                field="code",
                headers={"Retry-After": str(CODE_RESEND_SECONDS)},
            ),
        )
    return VerificationResult(None, _wrong_code())


def ensure_not_blocked(customer: Customer) -> Customer:
    """A blocked account keeps its history but may not pay; the answer says why."""
    if customer.status == CustomerStatus.blocked:
        raise Forbidden(
            f"This account is blocked: {customer.block_reason or 'contact support'}.",
            code="account_blocked",
        )
    return customer


def ensure_can_buy(customer: Customer) -> Customer:
    """The checks every purchase starts with: a verified phone and an account in good order."""
    ensure_not_blocked(customer)
    if customer.phone_verified_at is None:
        raise Forbidden(
            "Confirm your phone number with the SMS code before buying.", code="phone_not_verified"
        )
    return customer


@dataclass(frozen=True)
class ProfileChanges:
    language: str | None
    date_of_birth: str | None  # YYYY-MM-DD
    residence_country: str | None
    given: frozenset[str]  # the fields the request named; a named null clears it


async def update_profile(
    session: AsyncSession, customer_id: str, changes: ProfileChanges
) -> Customer:
    """What an account may change of itself; every value checked before any is set."""
    if not changes.given:
        raise InvalidInput("Name at least one field to change.", code="missing_field")
    if "language" in changes.given and changes.language is None:
        raise InvalidInput(
            "The language cannot be empty.", code="unsupported_language", field="language"
        )
    language = checked_language(changes.language) if changes.language is not None else None
    born = checked_birth_date(changes.date_of_birth, clock.now().date())
    residence = checked_country(changes.residence_country, "residence_country")
    customer = await AccountRepository(session).customer(customer_id, for_update=True)
    if customer is None or customer.status == CustomerStatus.deleted:
        raise Unauthorized("Log in again.", code="unauthorized")
    if language is not None:
        customer.language = language
    before = (customer.date_of_birth, customer.residence_country)
    if "date_of_birth" in changes.given:
        customer.date_of_birth = born
    if "residence_country" in changes.given:
        customer.residence_country = residence
    if (customer.date_of_birth, customer.residence_country) != before:
        # Market rules read these two: who changed them, from what to what, is kept.
        audit.record(
            session,
            kind="profile",
            outcome="profile_changed",
            actor=customer.id,
            customer_id=customer.id,
            inputs={
                "date_of_birth": [str(before[0]), str(customer.date_of_birth)],
                "residence_country": [before[1], customer.residence_country],
            },
        )
    return customer


async def set_blocked(session: AsyncSession, customer_id: str, *, reason: str | None) -> Customer:
    """Block (with a reason) or, with ``reason=None``, unblock an account."""
    repository = AccountRepository(session)
    customer = await repository.customer(customer_id, for_update=True)
    if customer is None or customer.status == CustomerStatus.deleted:
        raise InvalidInput(
            f"No account {customer_id}.", code="customer_not_found", field="customer_id"
        )
    if reason is not None and not reason.strip():
        raise InvalidInput("Give the reason for the block.", code="invalid_reason", field="reason")
    if reason is not None and len(reason.strip()) > BLOCK_REASON_MAX_LENGTH:
        raise InvalidInput(
            f"Keep the reason within {BLOCK_REASON_MAX_LENGTH} characters.",
            code="invalid_reason",
            field="reason",
        )
    customer.status = (CustomerStatus.blocked if reason else CustomerStatus.active).value
    customer.block_reason = reason.strip() if reason else None
    await repository.flush()
    return customer


async def delete_account(
    session: AsyncSession,
    policy: AccountPolicy,
    customer: Customer,
    *,
    password: str,
    give_up_balance: bool = False,
) -> None:
    """Erase the personal data and end every session; orders and ledger rows stay. A
    wallet that still holds money is closed only when ``give_up_balance`` says the
    customer knowingly leaves it behind."""
    await policy.limiter.hit(Limits.password_check_per_account, customer.id)
    if not await policy.passwords.verify(customer.password_hash, password):
        raise Unauthorized(
            "The password is not right.", code="invalid_credentials", field="password"
        )
    repository = AccountRepository(session)
    locked = await repository.customer(customer.id, for_update=True)
    if locked is None:
        raise Unauthorized("Log in again.", code="unauthorized")
    address, first_name = locked.email, locked.first_name
    await wallet.give_up_balance(session, locked.id, acknowledged=give_up_balance)
    await _erase(repository, locked)
    if address is not None:
        # Queued after the erasure, so it survives it; the worker erases it once it is sent.
        notifications.email(
            session,
            kind="account_deleted",
            to=address,
            language=locked.language,
            customer_id=locked.id,
            first_name=first_name,
        )


async def _erase(repository: AccountRepository, customer: Customer) -> None:
    now = clock.now()
    customer.first_name = customer.last_name = None
    customer.email = customer.email_key = customer.phone = None
    customer.password_hash = None
    customer.block_reason = None
    customer.status = CustomerStatus.deleted.value
    customer.deleted_at = now
    await repository.flush()
    await repository.revoke_tokens(customer.id, now=now)
    await repository.forget_secrets(customer.id)
    await MessageRepository(repository.session).erase_for_customer(customer.id)
    await CardRepository(repository.session).remove_all_of(customer.id)
    # Its auto top-ups end with it. The repository, not schedules.service: that service
    # checks purchases with this module, which would import it back in a circle.
    await ScheduleRepository(repository.session).cancel_all_of(customer.id, now=now)
    # Its monthly plans end with it: no charge is made to an account nobody holds.
    await SubscriptionRepository(repository.session).end_all_of(customer.id, now=now)
