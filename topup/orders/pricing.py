"""Splitting a price into supplier cost, service fee and VAT, in whole cents that add up."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from topup.catalogue.snapshot import ProductEntry
from topup.kit.money import Money

EUR = "EUR"


@dataclass(frozen=True, slots=True)
class PriceSplit:
    price: int
    cost: int
    fee: int
    vat: int


def split_price(product: ProductEntry, local_amount: int) -> PriceSplit:
    """The EUR price of ``local_amount`` and its parts. VAT is taken out of the price first
    (the price includes it), the supplier cost is the local value at the product's rate, and
    the fee is what remains, so the three always sum to the price."""
    price = (
        product.price
        if product.kind == "fixed" and product.price is not None
        else product.price_for(local_amount).amount
    )
    net = Money.from_major(Decimal(price) / 100 / (1 + product.pricing.vat_rate), EUR).amount
    cost = Money.from_major(
        Money(local_amount, product.currency).to_major() / product.pricing.fx_rate, EUR
    ).amount
    cost = min(cost, net)  # rounding can never make the fee negative
    return PriceSplit(price=price, cost=cost, fee=net - cost, vat=price - net)
