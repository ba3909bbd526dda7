"""The sandbox gateway: Stripe's public test cards, with Stripe's rules for card numbers.

Numbers must pass the Luhn check and belong to a brand we take (Visa or Mastercard; Amex's
378282246310005 is refused as ``unsupported_card_brand``); the expiry must not have passed.
As in Stripe's test mode, the token says how the card will behave when charged: the card
4000 0000 0000 0002 tokenises fine and is declined later, at authorization, as a real
card would be.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from topup.kit import clock
from topup.providers.payments.base import CardBrand, CardDetails, CardRejected, TokenizedCard

# How each Stripe test card behaves when charged (DESIGN.md §6); others succeed.
TEST_CARD_OUTCOMES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4100000000000019": "fraudulent",
}
SUCCESS = "success"
_FINGERPRINT_KEY = b"topup-sandbox-card-fingerprint"
_SEPARATORS = str.maketrans("", "", " -")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> CardBrand | None:
    if digits.startswith("4") and len(digits) in (13, 16, 19):
        return CardBrand.visa
    two, four = int(digits[:2]), int(digits[:4])
    if len(digits) == 16 and (51 <= two <= 55 or 2221 <= four <= 2720):
        return CardBrand.mastercard
    return None


def expired(exp_month: int, exp_year: int, now: datetime) -> bool:
    """A card works until the last day of its expiry month."""
    return (exp_year, exp_month) < (now.year, now.month)


class SandboxGateway:
    async def tokenize(self, card: CardDetails) -> TokenizedCard:
        digits = card.number.translate(_SEPARATORS)
        if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise CardRejected("invalid_card_number", "This is not a card number.", "number")
        if not luhn_valid(digits):
            raise CardRejected("invalid_card_number", "This card number is mistyped.", "number")
        brand = brand_of(digits)
        if brand is None:
            raise CardRejected(
                "unsupported_card_brand", "We take Visa and Mastercard cards only.", "number"
            )
        if not 1 <= card.exp_month <= 12:
            raise CardRejected("invalid_expiry", "The month is between 1 and 12.", "exp_month")
        if expired(card.exp_month, card.exp_year, clock.now()):
            raise CardRejected("expired_card", "This card has expired.", "exp_year")
        if not (card.cvc.isascii() and card.cvc.isdigit() and len(card.cvc) == 3):
            raise CardRejected(
                "invalid_cvc", "The security code is the 3 digits on the back.", "cvc"
            )
        outcome = TEST_CARD_OUTCOMES.get(digits, SUCCESS)
        return TokenizedCard(
            token=f"tok_sandbox_{outcome}_{secrets.token_hex(12)}",
            brand=brand,
            last4=digits[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=hmac.new(_FINGERPRINT_KEY, digits.encode(), hashlib.sha256).hexdigest()[
                :32
            ],
        )
