"""What the account flows need from the running process, and the rules they enforce."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import pycountry
from email_validator import EmailNotValidError, validate_email

from topup.accounts.security import Passwords
from topup.kit.errors import InvalidInput
from topup.kit.i18n import SUPPORTED_LANGUAGES
from topup.kit.ratelimit import Limit, RateLimiter

PASSWORD_MIN_LENGTH = 10
NAME_MAX_LENGTH = 100
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_TRIES = 5
RESET_LIFETIME = timedelta(hours=1)
# An account that never confirmed its phone stops holding its email and phone after this,
# so nobody can squat someone else's number by signing up with it and walking away.
UNVERIFIED_HOLD = timedelta(hours=24)


class Limits:
    """Every rate limit of the account flows, in one place so they can be read together."""

    signup_per_ip = Limit("signup-ip", "10/hour")
    code_per_phone = Limit("code-phone", "1/minute")
    code_per_phone_hourly = Limit("code-phone-hour", "5/hour")
    verify_per_phone = Limit("verify-phone", "10/hour")
    verify_per_ip = Limit("verify-ip", "30/10 minutes")
    login_per_account = Limit("login-account", "10/15 minutes")
    login_per_ip = Limit("login-ip", "100/hour")
    forgot_per_email = Limit("forgot-email", "3/hour")
    forgot_per_ip = Limit("forgot-ip", "20/hour")
    password_check_per_account = Limit("password-check", "5/15 minutes")


@dataclass(frozen=True)
class AccountPolicy:
    secret_key: str
    passwords: Passwords
    limiter: RateLimiter
    session_ttl: timedelta
    public_url: str


_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
_HAS_LETTER = re.compile(r"[^\W\d_]")


def checked_name(raw: str, field: str) -> str:
    name = raw.strip()
    if not name or len(name) > NAME_MAX_LENGTH or not _HAS_LETTER.search(name):
        raise InvalidInput(
            f"Enter a name of 1 to {NAME_MAX_LENGTH} characters.", code="invalid_name", field=field
        )
    if any(unicodedata.category(character) in _CONTROL_CATEGORIES for character in name):
        raise InvalidInput(
            "A name cannot hold control characters.", code="invalid_name", field=field
        )
    return name


def checked_email(raw: str, field: str = "email") -> str:
    """The normalised address (domain lower-cased, Unicode NFC), or a clear refusal."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidInput(
            f"This email address is not valid: {error}", code="invalid_email", field=field
        ) from error


def email_key(email: str) -> str:
    return email.lower()


def checked_password(password: str, field: str = "password") -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"Use at least {PASSWORD_MIN_LENGTH} characters for the password.",
            code="weak_password",
            field=field,
        )
    if not password.strip():
        raise InvalidInput("A password cannot be only spaces.", code="weak_password", field=field)
    return password


def checked_language(language: str) -> str:
    if language not in SUPPORTED_LANGUAGES:
        raise InvalidInput(
            f"Choose one of the languages Topup writes in: {', '.join(SUPPORTED_LANGUAGES)}.",
            code="unsupported_language",
            field="language",
        )
    return language


OLDEST_AGE = 120


def checked_birth_date(written: str | None, today: date) -> date | None:
    if written is None:
        return None
    try:
        born = date.fromisoformat(written)
    except ValueError:
        born = None
    if born is None or born > today or today.year - born.year > OLDEST_AGE:
        raise InvalidInput(
            "Give your real date of birth (YYYY-MM-DD).",
            code="invalid_date_of_birth",
            field="date_of_birth",
        )
    return born


def checked_country(code: str | None, field: str) -> str | None:
    """An ISO 3166 alpha-2 code as CLDR knows it (``IT``), or None."""
    if code is None:
        return None
    if not (len(code) == 2 and code.isascii() and code.isupper() and code in country_codes()):
        raise InvalidInput(
            "Use the two-letter ISO code of the country, e.g. IT.",
            code="invalid_country",
            field=field,
        )
    return code


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1's countries (pycountry): no "EU", no "ZZ" for an unknown region."""
    return frozenset(country.alpha_2 for country in pycountry.countries)
