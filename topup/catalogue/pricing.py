"""How a local top-up value becomes a euro price.

The customer pays one price in EUR that already includes our service fee and VAT; the fee
is never shown as a separate line (DESIGN.md §1). For a local value V in currency C:

    cost  = V / fx_rate                (fx_rate = units of C for 1 EUR)
    price = cost * (1 + fee_rate) * (1 + vat_rate), rounded *up* to the cent

Rounding up means we never sell below cost because of rounding. The same function prices
the fixed denominations when the catalogue is built and any amount a customer picks inside
a range product at order time, so both always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from topup.kit.money import Money

PRICE_CURRENCY = "EUR"


@dataclass(frozen=True, slots=True)
class PricingRule:
    fx_rate: Decimal  # units of the local currency for 1 EUR
    fee_rate: Decimal  # e.g. Decimal("0.08") for an 8 % service fee
    vat_rate: Decimal  # e.g. Decimal("0.20") for 20 % VAT

    def __post_init__(self) -> None:
        if self.fx_rate <= 0:
            raise ValueError("fx_rate must be positive")
        if self.fee_rate < 0 or self.vat_rate < 0:
            raise ValueError("fee_rate and vat_rate cannot be negative")

    def price_of(self, local_value: Money) -> Money:
        """The EUR price, VAT and fee included, of a local top-up value."""
        cost = local_value.to_major() / self.fx_rate
        gross = cost * (1 + self.fee_rate) * (1 + self.vat_rate)
        return Money.from_major(gross, PRICE_CURRENCY, round_up=True)
