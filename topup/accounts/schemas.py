"""Request and answer shapes of the accounts API (API.md, "Accounts")."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Generous upper bounds: the service checks the real rules and names them; these only keep
# absurd bodies from reaching it (and argon2 from hashing megabytes).
Name = Annotated[str, Field(max_length=200)]
PasswordText = Annotated[str, Field(max_length=1024)]
PhoneText = Annotated[str, Field(max_length=64)]
EmailText = Annotated[str, Field(max_length=320)]
Code = Annotated[str, Field(max_length=16)]
Token = Annotated[str, Field(max_length=200)]
Language = Annotated[
    str,
    Field(
        max_length=16,
        description="The language of this account's emails and SMS: en, fr, it or es",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupIn(_Body):
    first_name: Name
    last_name: Name
    phone: PhoneText
    email: EmailText
    password: PasswordText
    # Topup's addition: without it, the first supported language of the phone's country.
    language: Language | None = None


class UpdateMeIn(_Body):
    """Any of these; what is left out stays as it is."""

    language: Language | None = None
    # Asked for by market rules (e.g. Italian top-ups: 18 or older, resident in Italy).
    # "YYYY-MM-DD" and nothing else: a number would silently read as a day in 1970.
    date_of_birth: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    residence_country: Annotated[str, Field(max_length=8)] | None = None


class VerifyPhoneIn(_Body):
    phone: PhoneText
    code: Code


class ResendCodeIn(_Body):
    phone: PhoneText


class LoginIn(_Body):
    login: Annotated[str, Field(max_length=320, description="Email address or phone number")]
    password: PasswordText


class ForgotPasswordIn(_Body):
    email: EmailText


class ResetPasswordIn(_Body):
    token: Token
    password: PasswordText


class DeleteAccountIn(_Body):
    password: PasswordText
    # Topup's addition: needed when the wallet still holds money, which is then given up.
    give_up_balance: bool = False


class CustomerOut(BaseModel):
    id: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    phone_verified: bool
    status: str
    block_reason: str | None
    role: str
    language: str
    date_of_birth: date | None = None
    residence_country: str | None = None


class CustomerEnvelope(BaseModel):
    customer: CustomerOut


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class AcceptedOut(BaseModel):
    status: str = "accepted"
