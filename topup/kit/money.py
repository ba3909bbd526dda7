"""Money as an integer count of minor units plus an ISO 4217 code.

Floats never touch an amount. Conversions between major and minor units go through
``Decimal`` with the currency's exponent taken from CLDR (via Babel), so a currency such as
XOF (no minor unit) and NGN (kobo, two digits) are both exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

KNOWN_CURRENCIES = frozenset(list_currencies())
# Amounts are stored as BIGINT; anything outside that range could never be saved, and would
# also overflow the 28-digit precision of the default decimal context.
MINOR_UNITS_LIMIT = 2**63


@lru_cache(maxsize=512)
def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of ``currency`` (2 for EUR, 0 for XOF)."""
    if currency not in KNOWN_CURRENCIES:
        raise ValueError(f"unknown currency {currency!r}")
    return int(get_currency_precision(currency))


def minor_unit(currency: str) -> Decimal:
    """The value of one minor unit in major units: Decimal('0.01') for EUR."""
    return Decimal(1).scaleb(-currency_exponent(currency))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        if not -MINOR_UNITS_LIMIT <= self.amount < MINOR_UNITS_LIMIT:
            raise ValueError("Money.amount is outside the range a ledger can store")
        currency_exponent(self.currency)

    @classmethod
    def from_major(
        cls, value: Decimal | str | int, currency: str, *, round_up: bool = False
    ) -> Money:
        """Build from a major-unit decimal; rounds up to the minor unit when asked (prices)."""
        if isinstance(value, float):  # the type hint does not stop an untyped caller
            raise TypeError("from_major takes a Decimal, str or int, never a float")
        quantum = minor_unit(currency)
        rounding = ROUND_CEILING if round_up else ROUND_HALF_EVEN
        major = Decimal(value).quantize(quantum, rounding=rounding)
        return cls(int(major.scaleb(currency_exponent(currency))), currency)

    def to_major(self) -> Decimal:
        return Decimal(self.amount).scaleb(-currency_exponent(self.currency))

    def as_json(self) -> dict[str, int | str]:
        return {"amount": self.amount, "currency": self.currency}

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency}"
