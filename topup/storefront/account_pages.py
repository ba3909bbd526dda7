"""Accounts in the browser: sign-up, the SMS code, login, passwords, details, deletion.

A sign-up logs the browser in once its phone is confirmed, but only the browser that made
it: a signed cookie names the new account. (Sign-up may answer as if it worked when the
email or phone is taken, so that the page never says whose they are; such a "new
account" is never stored, so its cookie can never match a confirmed one.)
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote

from babel import Locale
from fastapi import APIRouter, Query, Response

from topup.accounts import service as accounts
from topup.accounts import sessions
from topup.accounts.repository import AccountRepository
from topup.kit.db import unit_of_work
from topup.kit.errors import AppError, InvalidInput
from topup.kit.i18n import SUPPORTED_LANGUAGES
from topup.storefront.web import (
    LANGUAGE_COOKIE,
    ONE_YEAR,
    Visitor,
    VisitorDep,
    checked_form,
    end_session,
    field_errors,
    page,
    redirect,
    safe_next,
    secure_cookies,
    start_session,
)
from topup.wallet.accounting import balance_of

router = APIRouter(include_in_schema=False)
NextPath = Annotated[str, Query(max_length=500)]
SIGNUP_COOKIE = "topup_signup"
SIGNUP_COOKIE_SECONDS = 3600


def _signup_proof(person: Visitor, customer_id: str) -> str:
    secret = person.runtime.settings.secret_key.encode()
    return hmac.new(secret, f"signup:{customer_id}".encode(), hashlib.sha256).hexdigest()


def _signed_up_here(person: Visitor, customer_id: str) -> bool:
    proof = person.request.cookies.get(SIGNUP_COOKIE, "")
    return hmac.compare_digest(proof, _signup_proof(person, customer_id))


async def _log_in_browser(person: Visitor, response: Response, customer_id: str) -> None:
    async with unit_of_work(person.runtime.session_factory) as session:
        customer = await AccountRepository(session).customer(customer_id)
        assert customer is not None
        issued = sessions.issue_token(session, person.runtime.accounts, customer)
    start_session(person, response, issued.token, issued.expires_in)


@router.get("/signup")
async def signup_form(person: VisitorDep, next: NextPath = "/") -> Response:
    return page(person, "signup.html", form={}, errors={}, next=safe_next(next))


@router.post("/signup")
async def signup(person: VisitorDep) -> Response:
    form = await checked_form(person)
    next_path = safe_next(form.get("next"))
    request = accounts.SignupRequest(
        form.get("first_name", ""),
        form.get("last_name", ""),
        form.get("phone", ""),
        form.get("email", ""),
        form.get("password", ""),
        person.language,
    )
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            customer = await accounts.sign_up(
                session, person.runtime.accounts, request, client_ip=person.client_ip
            )
    except AppError as error:
        kept = {name: value for name, value in form.items() if name != "password"}
        return page(
            person,
            "signup.html",
            status_code=error.status_code,
            form=kept,
            errors=field_errors(error),
            next=next_path,
        )
    assert customer.phone is not None
    response = redirect(
        person, f"/verify?phone={quote(customer.phone)}&next={quote(next_path, safe='')}"
    )
    response.set_cookie(
        SIGNUP_COOKIE,
        _signup_proof(person, customer.id),
        max_age=SIGNUP_COOKIE_SECONDS,
        httponly=True,
        secure=secure_cookies(person.runtime),
        samesite="lax",
    )
    return response


@router.get("/verify")
async def verify_form(person: VisitorDep, phone: NextPath = "", next: NextPath = "/") -> Response:
    known = person.customer.phone if person.customer is not None else None
    return page(
        person,
        "verify.html",
        form={"phone": phone or known or ""},
        errors={},
        next=safe_next(next),
        notice=None,
    )


@router.post("/verify")
async def verify(person: VisitorDep) -> Response:
    form = await checked_form(person)
    next_path = safe_next(form.get("next"))
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            # A wrong code is counted even though it fails: committed before answering.
            result = await accounts.verify_phone(
                session,
                person.runtime.accounts,
                phone=form.get("phone", ""),
                code=form.get("code", "").strip(),
                client_ip=person.client_ip,
            )
        if result.error is not None:
            raise result.error
    except AppError as error:
        return page(
            person,
            "verify.html",
            status_code=error.status_code,
            form={"phone": form.get("phone", "")},
            errors=field_errors(error),
            next=next_path,
            notice=None,
        )
    assert result.customer is not None
    verified = result.customer
    if person.customer is not None and person.customer.id == verified.id:
        return redirect(person, next_path)
    if _signed_up_here(person, verified.id):
        response = redirect(person, next_path)
        await _log_in_browser(person, response, verified.id)
        response.delete_cookie(SIGNUP_COOKIE)
        return response
    return redirect(person, f"/login?notice=verified&next={quote(next_path, safe='')}")


@router.post("/verify/resend")
async def resend(person: VisitorDep) -> Response:
    form = await checked_form(person)
    next_path = safe_next(form.get("next"))
    errors: dict[str, AppError] = {}
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            await accounts.resend_code(
                session, person.runtime.accounts, phone=form.get("phone", "")
            )
    except AppError as error:
        errors = field_errors(error)
    return page(
        person,
        "verify.html",
        status_code=429 if errors else 200,
        form={"phone": form.get("phone", "")},
        errors=errors,
        next=next_path,
        notice=None if errors else "new_code",
    )


@router.get("/login")
async def login_form(person: VisitorDep, next: NextPath = "/", notice: NextPath = "") -> Response:
    if person.customer is not None:
        return redirect(person, safe_next(next))
    # A notice is named, never free text: a link cannot make the page say anything else.
    named = notice if notice in {"verified", "password_changed"} else None
    return page(person, "login.html", form={}, errors={}, next=safe_next(next), notice=named)


@router.post("/login")
async def login(person: VisitorDep) -> Response:
    form = await checked_form(person)
    next_path = safe_next(form.get("next"))
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            issued = await sessions.log_in(
                session,
                person.runtime.accounts,
                login=form.get("login", ""),
                password=form.get("password", ""),
                client_ip=person.client_ip,
            )
            if person.token_id is not None:
                # The session this browser held before (another account's, or this one's
                # on a shared computer) ends here, not only its cookie: whoever kept a
                # copy of that cookie is not logged in by someone else's login.
                await sessions.log_out(session, person.token_id)
    except AppError as error:
        return page(
            person,
            "login.html",
            status_code=error.status_code,
            form={"login": form.get("login", "")},
            errors=field_errors(error),
            next=next_path,
            notice=None,
        )
    response = redirect(person, next_path)
    start_session(person, response, issued.token, issued.expires_in)
    return response


@router.post("/logout")
async def logout(person: VisitorDep) -> Response:
    await checked_form(person)
    if person.token_id is not None:
        async with unit_of_work(person.runtime.session_factory) as session:
            await sessions.log_out(session, person.token_id)
    end_session(person)
    return redirect(person, "/")


@router.get("/forgot-password")
async def forgot_form(person: VisitorDep) -> Response:
    return page(person, "forgot.html", form={}, errors={}, sent=False)


@router.post("/forgot-password")
async def forgot(person: VisitorDep) -> Response:
    form = await checked_form(person)
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            await sessions.forgot_password(
                session,
                person.runtime.accounts,
                email=form.get("email", ""),
                client_ip=person.client_ip,
            )
    except AppError as error:
        return page(
            person,
            "forgot.html",
            status_code=error.status_code,
            form={"email": form.get("email", "")},
            errors=field_errors(error),
            sent=False,
        )
    return page(person, "forgot.html", form={}, errors={}, sent=True)


@router.get("/reset-password")
async def reset_form(person: VisitorDep, token: NextPath = "") -> Response:
    return page(person, "reset.html", token=token, errors={})


@router.post("/reset-password")
async def reset(person: VisitorDep) -> Response:
    form = await checked_form(person)
    token = form.get("token", "")
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            await sessions.reset_password(
                session, person.runtime.accounts, token=token, password=form.get("password", "")
            )
    except AppError as error:
        return page(
            person,
            "reset.html",
            status_code=error.status_code,
            token=token,
            errors=field_errors(error, {"token": ""}),
        )
    end_session(person)  # every session of the account has just ended, this one too
    return redirect(person, "/login?notice=password_changed")


def _territories(language: str) -> list[tuple[str, str]]:
    names = Locale.parse(language).territories
    return sorted(
        ((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha()),
        key=lambda pair: pair[1],
    )


async def _account_page(
    person: Visitor,
    *,
    errors: dict[str, AppError] | None = None,
    delete_errors: dict[str, AppError] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    customer = person.require_customer()
    form = {
        "date_of_birth": customer.date_of_birth.isoformat() if customer.date_of_birth else "",
        "residence_country": customer.residence_country or "",
    }
    async with person.runtime.session_factory() as session:
        wallet = await balance_of(session, customer.id)
    return page(
        person,
        "account.html",
        status_code=status_code,
        form=form,
        errors=errors or {},
        delete_errors=delete_errors or {},
        territories=_territories(person.language),
        notice=notice,
        wallet=wallet,
    )


@router.get("/account")
async def account(person: VisitorDep) -> Response:
    if person.customer is None:
        return redirect(person, "/login?next=%2Faccount")
    return await _account_page(person)


@router.post("/account")
async def update_account(person: VisitorDep) -> Response:
    form = await checked_form(person)
    if person.customer is None:
        return redirect(person, "/login?next=%2Faccount")
    changes = accounts.ProfileChanges(
        language=form.get("language") or None,
        date_of_birth=form.get("date_of_birth") or None,
        residence_country=form.get("residence_country") or None,
        given=frozenset({"language", "date_of_birth", "residence_country"}),
    )
    try:
        async with unit_of_work(person.runtime.session_factory) as session:
            person.customer = await accounts.update_profile(session, person.customer.id, changes)
    except AppError as error:
        return await _account_page(
            person, errors=field_errors(error), status_code=error.status_code
        )
    # The pages follow the language just chosen for the account's messages, this one too.
    person.language = person.customer.language
    response = await _account_page(person, notice="saved")
    response.delete_cookie(LANGUAGE_COOKIE)
    return response


@router.post("/account/delete")
async def delete_account(person: VisitorDep) -> Response:
    form = await checked_form(person)
    if person.customer is None:
        return redirect(person, "/login?next=%2Faccount")
    try:
        if form.get("confirm_delete") != "yes":
            raise InvalidInput(
                "Confirm the deletion.", code="confirm_delete", field="confirm_delete"
            )
        async with unit_of_work(person.runtime.session_factory) as session:
            await accounts.delete_account(
                session,
                person.runtime.accounts,
                person.customer,
                password=form.get("delete_password", ""),
                give_up_balance=form.get("give_up_balance") == "yes",
            )
    except AppError as error:
        errors = field_errors(error, {"password": "delete_password"})
        return await _account_page(person, delete_errors=errors, status_code=error.status_code)
    person.customer = None
    end_session(person)
    return redirect(person, "/?deleted=1")


@router.post("/language")
async def choose_language(person: VisitorDep) -> Response:
    form = await checked_form(person)
    language = form.get("language", "")
    response = redirect(person, safe_next(form.get("next")))
    if language not in SUPPORTED_LANGUAGES:
        return response
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=ONE_YEAR,
        secure=secure_cookies(person.runtime),
        samesite="lax",
    )
    if person.customer is not None:  # their emails and SMS follow the language they read
        changes = accounts.ProfileChanges(language, None, None, frozenset({"language"}))
        async with unit_of_work(person.runtime.session_factory) as session:
            await accounts.update_profile(session, person.customer.id, changes)
    return response
