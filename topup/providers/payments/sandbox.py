"""The sandbox gateway: Stripe's public test cards, with Stripe's rules for card numbers.

Numbers must pass the Luhn check and belong to a brand we take (Visa or Mastercard; Amex's
378282246310005 is refused as ``unsupported_card_brand``); the expiry must not have passed.
As in Stripe's test mode, the token says how the card will behave when charged: the card
4000 0000 0000 0002 tokenises fine and is declined later, at authorization, as a real
card would be.

Payments follow Stripe's manual-capture PaymentIntents: authorize places a hold, capture
takes all or part of it, void releases it, refunds give back what was captured. The
gateway keeps its records in its own tables, so API nodes and workers share them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from topup.kit import clock
from topup.kit.db import unit_of_work
from topup.kit.money import Money
from topup.providers.payments.base import (
    Authorization,
    AuthorizationStatus,
    CardBrand,
    CardDetails,
    CardRejected,
    PaymentStateError,
    TokenizedCard,
)
from topup.providers.payments.sandbox_models import SandboxPayment, SandboxRefund

# How each Stripe test card behaves when charged (DESIGN.md §6); others succeed.
TEST_CARD_OUTCOMES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4100000000000019": "fraudulent",
}
SUCCESS = "success"
# Stripe's test cards issued in a named country; every other test card is American, as
# Stripe's generic ones are. The country is what a real gateway reads from the BIN.
TEST_CARD_COUNTRIES = {
    "4000000400000008": "AT",
    "4000000560000004": "BE",
    "4000000760000002": "BR",
    "4000001240000000": "CA",
    "4000002500000003": "FR",
    "4000002760000016": "DE",
    "4000003800000008": "IT",
    "4000004840008001": "MX",
    "4000005280000002": "NL",
    "4000007240000007": "ES",
    "4000008260000000": "GB",
}
DEFAULT_CARD_COUNTRY = "US"
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


def outcome_of(token: str) -> str:
    """What a sandbox token will do when charged; a token we never issued is declined."""
    for outcome in (SUCCESS, *TEST_CARD_OUTCOMES.values()):
        if token.startswith(f"tok_sandbox_{outcome}_"):
            return outcome
    return "card_declined"


class SandboxGateway:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession] | None = None) -> None:
        self._session_factory = session_factory

    def _records(self) -> async_sessionmaker[AsyncSession]:
        if self._session_factory is None:
            raise RuntimeError("the sandbox gateway needs a database to keep its payments in")
        return self._session_factory

    async def authorize(self, token: str, amount: Money, *, idempotency_key: str) -> Authorization:
        if amount.amount <= 0:
            raise PaymentStateError(f"cannot authorize {amount}")
        outcome = outcome_of(token)
        payment = SandboxPayment(
            id=f"pi_sandbox_{secrets.token_hex(12)}",
            idempotency_key=idempotency_key,
            status="authorized" if outcome == SUCCESS else "declined",
            decline_code=None if outcome == SUCCESS else outcome,
            currency=amount.currency,
            amount=amount.amount,
            captured=0,
            refunded=0,
            created_at=clock.now(),
        )
        try:
            async with unit_of_work(self._records()) as session:
                session.add(payment)
        except IntegrityError:  # the key was used before: answer what was answered then
            async with unit_of_work(self._records()) as session:
                payment = await self._by_key(session, idempotency_key)
        # A replay of an approved hold stays "authorized", whatever happened to it since.
        declined = payment.status == "declined"
        status = AuthorizationStatus.declined if declined else AuthorizationStatus.authorized
        return Authorization(status, payment.id, payment.decline_code)

    async def capture(self, reference: str, amount: Money) -> None:
        async with unit_of_work(self._records()) as session:
            payment = await self._payment(session, reference)
            if payment.status == "captured" and payment.captured == amount.amount:
                return
            if payment.status != "authorized" or not 0 < amount.amount <= payment.amount:
                raise PaymentStateError(
                    f"cannot capture {amount} of a {payment.status} payment "
                    f"of {payment.amount} {payment.currency}"
                )
            payment.status, payment.captured = "captured", amount.amount

    async def void(self, reference: str) -> None:
        async with unit_of_work(self._records()) as session:
            payment = await self._payment(session, reference)
            if payment.status == "voided":
                return
            if payment.status != "authorized":
                raise PaymentStateError(f"cannot void a {payment.status} payment")
            payment.status = "voided"

    async def refund(self, reference: str, amount: Money, *, idempotency_key: str) -> None:
        """Stripe answers a repeated key with the first refund, even when both calls race:
        the key is looked for only once the payment is locked, and a losing insert (on
        SQLite, where nothing is locked) finds the winner's refund."""
        try:
            await self._refund_once(reference, amount, idempotency_key)
        except IntegrityError:
            async with self._records()() as session:
                if await session.get(SandboxRefund, idempotency_key) is None:
                    raise

    async def _refund_once(self, reference: str, amount: Money, idempotency_key: str) -> None:
        async with unit_of_work(self._records()) as session:
            payment = await self._payment(session, reference)
            if await session.get(SandboxRefund, idempotency_key) is not None:
                return
            if payment.status != "captured" or not (
                0 < amount.amount <= payment.captured - payment.refunded
            ):
                raise PaymentStateError(
                    f"cannot refund {amount} of {payment.captured - payment.refunded} left"
                )
            payment.refunded += amount.amount
            session.add(
                SandboxRefund(
                    idempotency_key=idempotency_key,
                    payment_id=payment.id,
                    amount=amount.amount,
                    created_at=clock.now(),
                )
            )

    @staticmethod
    async def _payment(session: AsyncSession, reference: str) -> SandboxPayment:
        payment = await session.get(SandboxPayment, reference, with_for_update=True)
        if payment is None:
            raise PaymentStateError(f"no payment {reference}")
        return payment

    @staticmethod
    async def _by_key(session: AsyncSession, idempotency_key: str) -> SandboxPayment:
        query = select(SandboxPayment).where(SandboxPayment.idempotency_key == idempotency_key)
        payment = await session.scalar(query)
        if payment is None:  # pragma: no cover - the unique key said it exists
            raise PaymentStateError(f"no payment under key {idempotency_key}")
        return payment

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
            country=TEST_CARD_COUNTRIES.get(digits, DEFAULT_CARD_COUNTRY),
        )
