"""The port to a card gateway (Stripe, Adyen, ...), in the shape their APIs share.

A card is tokenised once; only the token, brand, last four digits, expiry and the
gateway's fingerprint (a keyed hash that tells the same card apart across accounts) are
kept. A payment is a two-step hold: ``authorize`` reserves the amount on the card,
``capture`` takes it (all or part) once the top-up is delivered, ``void`` releases it.
Every such call will carry an idempotency key, as Stripe's API does, so a retried step
never charges twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


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


class CardRejected(Exception):
    """The card cannot be used at all (bad number, brand we do not take, expired)."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class PaymentGateway(Protocol):
    """So far the card vault; authorize, capture, void and refund arrive with orders."""

    async def tokenize(self, card: CardDetails) -> TokenizedCard: ...
