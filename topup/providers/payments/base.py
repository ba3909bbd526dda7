"""The port to a card gateway (Stripe, Adyen, ...), in the shape their APIs share.

A card is tokenised once; only the token, brand, last four digits, expiry and the
gateway's fingerprint (a keyed hash that tells the same card apart across accounts) are
kept. A payment is a two-step hold: ``authorize`` reserves the amount on the card,
``capture`` takes it (all or part) once the top-up is delivered, ``void`` releases it.
Authorizations and refunds carry an idempotency key, as Stripe's API does, and capture
and void are safe to repeat, so a retried step never charges twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from topup.kit.money import Money


class CardBrand(StrEnum):
    visa = "visa"
    mastercard = "mastercard"


@dataclass(frozen=True, slots=True)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


@dataclass(frozen=True, slots=True)
class TokenizedCard:
    token: str
    brand: CardBrand
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    country: str | None = None  # ISO 3166 alpha-2 of the issuer, from the BIN


class CardRejected(Exception):
    """The card cannot be used at all (bad number, brand we do not take, expired)."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class AuthorizationStatus(StrEnum):
    authorized = "authorized"
    declined = "declined"


@dataclass(frozen=True, slots=True)
class Authorization:
    status: AuthorizationStatus
    reference: str  # the gateway's id of the payment, declined ones included
    decline_code: str | None = None


class PaymentStateError(Exception):
    """The gateway refused the step for the state the payment is in (capturing a voided
    hold, refunding more than was captured). A bug or a race, never a customer's doing."""


class GatewayUnavailable(Exception):
    """No answer, or an error answer: the outcome is unknown and must be asked again."""


class PaymentGateway(Protocol):
    async def tokenize(self, card: CardDetails) -> TokenizedCard: ...

    async def authorize(self, token: str, amount: Money, *, idempotency_key: str) -> Authorization:
        """Hold ``amount`` on the card. The same key returns the first answer (Stripe's
        Idempotency-Key), so a retried step never places a second hold."""
        ...

    async def capture(self, reference: str, amount: Money) -> None:
        """Take ``amount`` (at most what is held) of an authorized payment; repeating the
        same capture is harmless."""
        ...

    async def void(self, reference: str) -> None:
        """Release the hold; repeating it is harmless, voiding a captured payment is not."""
        ...

    async def refund(self, reference: str, amount: Money, *, idempotency_key: str) -> None:
        """Give back part or all of what was captured, once per key."""
        ...
