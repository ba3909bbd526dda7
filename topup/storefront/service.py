"""What the pages need beyond the domain services: menus, the offer being reviewed, amounts
typed by people. Nothing here decides a business rule; it asks the domains."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel import Locale

from topup.catalogue.snapshot import (
    CatalogueSnapshot,
    OperatorEntry,
    ProductEntry,
    PromotionEntry,
)
from topup.kit import clock
from topup.kit.errors import InvalidInput
from topup.kit.money import currency_exponent, minor_unit
from topup.lookup.service import LookupResult, look_up_number
from topup.orders.models import ACTIVE_STATUSES
from topup.orders.service import local_amount_of, product_for
from topup.providers.suppliers.base import NumberLookup

MAX_AMOUNT_CHARACTERS = 20


@dataclass(frozen=True, slots=True)
class CountryChoice:
    iso2: str
    name: str
    calling_code: str


def _sort_key(name: str) -> str:
    # "Égypte" between "Équateur" and "Espagne", not after "Zambie".
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def country_menu(snapshot: CatalogueSnapshot, language: str) -> list[CountryChoice]:
    """Every served country, named and sorted in the visitor's language."""
    names = Locale.parse(language).territories
    choices = [
        CountryChoice(country.iso2, names.get(country.iso2, country.name), country.calling_code)
        for country in snapshot.countries.values()
        if snapshot.served_country(country.iso2) is not None
    ]
    return sorted(choices, key=lambda choice: _sort_key(choice.name))


@dataclass(frozen=True, slots=True)
class BalanceCodes:
    country: CountryChoice
    operators: list[OperatorEntry]


def balance_code_table(snapshot: CatalogueSnapshot, language: str) -> list[BalanceCodes]:
    """For the help page: how to check the balance, for every operator we serve."""
    table = []
    for country in country_menu(snapshot, language):
        operators = sorted(snapshot.operators_of(country.iso2), key=lambda entry: entry.name)
        if operators:
            table.append(BalanceCodes(country, operators))
    return table


def promotions_shown(snapshot: CatalogueSnapshot, found: LookupResult) -> dict[str, PromotionEntry]:
    """The operator's promotion running now on each product that has one, by product id."""
    now = clock.now()
    shown = {product.id: snapshot.promotion_for(product, now) for product in found.products}
    return {product_id: entry for product_id, entry in shown.items() if entry is not None}


def parse_local_amount(text: str, currency: str) -> int:
    """An amount as a person types it ("500" or "500.50") in minor units of ``currency``."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        if not cleaned or len(cleaned) > MAX_AMOUNT_CHARACTERS:
            raise InvalidOperation
        value = Decimal(cleaned)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise InvalidInput(
            "Type the amount as a number, such as 500.", code="invalid_amount", field="amount"
        ) from None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > currency_exponent(currency):
        raise InvalidInput(
            f"{currency} has no smaller unit than {minor_unit(currency)}.",
            code="invalid_amount",
            field="amount",
        )
    return int(value / minor_unit(currency))


@dataclass(frozen=True, slots=True)
class Offer:
    """What the review page shows and the payment form sends: who, what, for how much."""

    found: LookupResult
    product: ProductEntry
    local_amount: int
    price: int

    @property
    def local_major(self) -> str:
        return str(Decimal(self.local_amount) * minor_unit(self.product.currency))


async def offer_for(
    snapshot: CatalogueSnapshot,
    number_lookup: NumberLookup,
    *,
    phone: str,
    product_id: str,
    amount_text: str | None,
) -> Offer:
    """The product the visitor picked, checked against the number as an order would be."""
    found = await look_up_number(snapshot, number_lookup, phone=phone)
    product = product_for(snapshot, found, product_id)
    amount = None
    if product.kind != "fixed" and amount_text is not None:
        amount = parse_local_amount(amount_text, product.currency)
    local_amount = local_amount_of(product, amount, product.currency)
    if product.kind == "fixed":
        assert product.price is not None
        price = product.price
    else:
        price = product.price_for(local_amount).amount
    return Offer(found, product, local_amount, price)


def is_final(status: str) -> bool:
    return status not in {active.value for active in ACTIVE_STATUSES}
