"""Build the shipped catalogue file from its real sources.

    .venv/bin/python scripts/build_catalogue.py [--output PATH]

Inputs: the hand-reviewed operator list (scripts/catalogue_sources.py), the dated FX file
next to the catalogue, libphonenumber's carrier data and metadata, and CLDR (via Babel) for
names and currencies. The output (topup/catalogue/data/catalogue.json by default) is what the
loader reads. The same inputs always give the same bytes: every list is built in a fixed
order and nothing depends on the clock, so a rebuild shows up as a reviewable diff.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from babel import Locale
from babel.numbers import format_decimal, get_territory_currencies
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType
from phonenumbers.carrierdata import CARRIER_DATA

from scripts.catalogue_sources import COUNTRIES, CountrySource, OperatorSource
from topup.catalogue.pricing import PricingRule
from topup.kit.money import Money

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DATA_DIRECTORY = REPOSITORY_ROOT / "topup" / "catalogue" / "data"
FX_PATH = DATA_DIRECTORY / "fx-rates-2024-06-15.json"
DEFAULT_OUTPUT = DATA_DIRECTORY / "catalogue.json"

CATALOGUE_FORMAT = "topup-catalogue/1"
FEE_RATE = "0.05"
VAT_RATE = "0.20"

# Fixed denominations aim at these euro values, then snap to a round local amount.
EUR_TARGETS = (2, 5, 10, 20, 30, 50)
# Where the local currency is the euro we can offer the amounts people expect exactly.
EURO_DENOMINATIONS = (5, 10, 15, 20, 25, 50)
RANGE_MIN_EUR = 1
# Beside airtime, each country's first operator sells one PIN voucher, one calling card and
# one monthly plan, each near this euro value (see extra_products).
VOUCHER_EUR, CALLING_CARD_EUR, PLAN_EUR = 10, 5, 15
RANGE_MAX_EUR = 100
# Round amounts: 1, 2, 2.5 and 5 times a power of ten. 2.5 only from 25 up, so that every
# amount is a whole number of major units (product ids and SMS texts stay simple).
NICE_MANTISSAS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))

# A number whose type is one of these can receive airtime.
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FxTable:
    date: str
    base: str
    source: str
    rates: dict[str, str]  # currency -> units for 1 EUR, as written in the file


class CatalogueError(Exception):
    """The sources are inconsistent; the message says what to fix."""


def load_fx(path: Path) -> FxTable:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw["base"] != "EUR":
        raise CatalogueError(f"{path}: prices are in EUR, so the FX base must be EUR")
    return FxTable(raw["date"], raw["base"], raw["source"], dict(raw["rates"]))


# --- countries ------------------------------------------------------------------------


def country_name(source: CountrySource) -> str:
    return source.name or str(Locale("en").territories[source.iso2])


def country_currency(iso2: str, on: date) -> str:
    """The legal-tender currency on the FX date (Haiti lists HTG before USD, we sell HTG)."""
    currencies = get_territory_currencies(iso2, start_date=on, end_date=on, tender=True)
    if not currencies:
        raise CatalogueError(f"{iso2}: CLDR knows no currency in use on {on}")
    return str(currencies[0])


def calling_code(iso2: str) -> str:
    code = phonenumbers.country_code_for_region(iso2)
    if code == 0:
        raise CatalogueError(f"{iso2}: libphonenumber knows no calling code")
    return str(code)


# --- prefixes -------------------------------------------------------------------------


def mobile_lengths(region: str) -> list[int]:
    """Possible national lengths of a mobile number (the general ones if not given)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise CatalogueError(f"{region}: libphonenumber has no metadata")
    for description in (metadata.mobile, metadata.general_desc):
        if description is not None and description.possible_length:
            return sorted(description.possible_length)
    return []


def candidate_numbers(prefix: str, code: str, region: str) -> Iterator[PhoneNumber]:
    """Full-length numbers of `region` that start with the E.164 digits `prefix`.

    Carrier prefixes are shorter than a number, so we pad them to each possible mobile
    length, first with the rest of the region's example mobile number, then with runs of
    one digit, and let libphonenumber's own patterns judge the results.
    """
    national_start = prefix[len(code) :]
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    example_digits = phonenumbers.national_significant_number(example) if example else ""
    for length in mobile_lengths(region):
        missing = length - len(national_start)
        if missing < 0:
            continue
        fillers = [
            example_digits[len(national_start) : length],
            *(digit * missing for digit in "0123456789"),
        ]
        for filler in fillers:
            if len(filler) == missing:
                yield phonenumbers.parse(f"+{code}{national_start}{filler}")


def is_mobile_number_of(number: PhoneNumber, region: str) -> bool:
    # region_code_for_number (not is_valid_number_for_region) settles shared calling codes
    # such as +1 and +44 the same way the lookup service will: one region per number.
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) in MOBILE_TYPES
        and phonenumbers.region_code_for_number(number) == region
    )


def prefix_belongs_to(prefix: str, code: str, region: str) -> bool:
    """True when some valid mobile number of `region` starts with `prefix`."""
    return any(is_mobile_number_of(n, region) for n in candidate_numbers(prefix, code, region))


@cache
def carrier_prefixes(code: str) -> dict[str, tuple[str, ...]]:
    """English carrier name -> its prefixes under calling code `code`, sorted."""
    by_carrier: dict[str, list[str]] = {}
    for prefix, names in CARRIER_DATA.items():
        # Calling codes are prefix-free, so a string prefix test is exact.
        if prefix.startswith(code) and "en" in names:
            by_carrier.setdefault(names["en"], []).append(prefix)
    return {name: tuple(sorted(prefixes)) for name, prefixes in by_carrier.items()}


def region_prefixes(code: str, region: str) -> list[str]:
    """Every carrier prefix of `code` that belongs to `region`, whatever the carrier."""
    every = sorted(p for prefixes in carrier_prefixes(code).values() for p in prefixes)
    return [p for p in every if prefix_belongs_to(p, code, region)]


def operator_prefixes(operator: OperatorSource, code: str, country: CountrySource) -> list[str]:
    region = country.iso2
    if not country.has_carrier_data:
        return []
    known = carrier_prefixes(code)
    prefixes: set[str] = set()
    for carrier_name in operator.carrier_names:
        if carrier_name not in known:
            raise CatalogueError(f"{region} {operator.slug}: no carrier named {carrier_name!r}")
        prefixes.update(p for p in known[carrier_name] if prefix_belongs_to(p, code, region))
    if not prefixes:
        raise CatalogueError(f"{region} {operator.slug}: no mobile prefix in {region}")
    return sorted(prefixes)


# --- amounts --------------------------------------------------------------------------


def nice_amount(value: Decimal) -> int:
    """The round amount (see NICE_MANTISSAS) nearest to `value`, in whole major units."""
    candidates = [
        mantissa.scaleb(power)
        for power in range(max(value.adjusted(), 0) + 2)
        for mantissa in NICE_MANTISSAS
    ]
    whole = [c for c in candidates if c == c.to_integral_value()]
    # On a tie the smaller amount wins, only so that the choice is stable.
    return int(min(whole, key=lambda c: (abs(c - value), c)))


def fixed_amounts(currency: str, fx_rate: Decimal) -> list[int]:
    """Fixed denominations in major units, ascending and without duplicates."""
    if currency == "EUR":
        return list(EURO_DENOMINATIONS)
    return sorted({nice_amount(fx_rate * target) for target in EUR_TARGETS})


def range_amounts(fx_rate: Decimal) -> tuple[int, int, int]:
    """(min, max, step) in major units for the any-amount product."""
    minimum = nice_amount(fx_rate * RANGE_MIN_EUR)
    maximum = nice_amount(fx_rate * RANGE_MAX_EUR)
    # A hundredth of the minimum's order of magnitude (10 NGN for a 2,000 NGN minimum),
    # never below one major unit. Both bounds are round, so the step divides them.
    step: int = 10 ** max(len(str(minimum)) - 3, 0)
    if minimum % step or maximum % step:
        raise CatalogueError(f"step {step} does not divide {minimum} and {maximum}")
    return minimum, maximum, step


def to_minor(major: int, currency: str) -> int:
    return Money.from_major(major, currency).amount


def display(major: int) -> str:
    return str(format_decimal(major, locale="en"))


# --- products, operators, countries ---------------------------------------------------


def fixed_product(operator_id: str, major: int, currency: str, rule: PricingRule) -> JsonObject:
    local_value = to_minor(major, currency)
    return {
        "id": f"{operator_id}-{major}",
        "kind": "fixed",
        "local_value": local_value,
        "price": rule.price_of(Money(local_value, currency)).amount,
        "description": f"{display(major)} {currency} airtime",
    }


def range_product(operator_id: str, currency: str, rule: PricingRule) -> JsonObject:
    minimum, maximum, step = range_amounts(rule.fx_rate)
    local_min = to_minor(minimum, currency)
    local_max = to_minor(maximum, currency)
    return {
        "id": f"{operator_id}-range",
        "kind": "range",
        "local_min": local_min,
        "local_max": local_max,
        "local_step": to_minor(step, currency),
        "price_min": rule.price_of(Money(local_min, currency)).amount,
        "price_max": rule.price_of(Money(local_max, currency)).amount,
        "description": f"Any amount from {display(minimum)} to {display(maximum)} {currency}",
    }


def typed_product(
    operator_id: str, product_type: str, eur_target: int, currency: str, rule: PricingRule
) -> JsonObject:
    """A PIN voucher, calling card or monthly plan of about ``eur_target`` euros."""
    major = eur_target if currency == "EUR" else nice_amount(rule.fx_rate * eur_target)
    local_value = to_minor(major, currency)
    amount = f"{display(major)} {currency}"
    descriptions = {
        "voucher": f"{amount} e-voucher: a PIN to load on the phone",
        "calling_card": f"{amount} calling card: a PIN and minutes for international calls",
        "plan": f"Monthly plan worth {amount}, renewed on the 1st of each month",
    }
    return {
        "id": f"{operator_id}-{product_type.replace('_', '-')}-{major}",
        "kind": "fixed",
        "type": product_type,
        "local_value": local_value,
        "price": rule.price_of(Money(local_value, currency)).amount,
        "description": descriptions[product_type],
    }


def extra_products(operator_id: str, currency: str, rule: PricingRule) -> list[JsonObject]:
    return [
        typed_product(operator_id, "voucher", VOUCHER_EUR, currency, rule),
        typed_product(operator_id, "calling_card", CALLING_CARD_EUR, currency, rule),
        typed_product(operator_id, "plan", PLAN_EUR, currency, rule),
    ]


def build_operator(
    operator: OperatorSource,
    country: CountrySource,
    code: str,
    currency: str,
    fx: FxTable,
    *,
    first: bool = False,
) -> JsonObject:
    """One operator: its prefixes, its fixed denominations and its any-amount product."""
    if not SLUG_PATTERN.fullmatch(operator.slug):
        raise CatalogueError(f"{country.iso2}: bad operator slug {operator.slug!r}")
    operator_id = f"{country.iso2.lower()}-{operator.slug}"
    rule = PricingRule(Decimal(fx.rates[currency]), Decimal(FEE_RATE), Decimal(VAT_RATE))
    products = [
        fixed_product(operator_id, major, currency, rule)
        for major in fixed_amounts(currency, rule.fx_rate)
    ]
    products.append(range_product(operator_id, currency, rule))
    if first:
        products.extend(extra_products(operator_id, currency, rule))
    return {
        "id": operator_id,
        "name": operator.name,
        "balance_check_code": operator.balance_check_code,
        "enabled": True,
        "fx_rate": fx.rates[currency],
        "prefixes": operator_prefixes(operator, code, country),
        "products": products,
    }


def check_operators(country: CountrySource, operators: Sequence[JsonObject]) -> None:
    if not 1 <= len(operators) <= 6:
        raise CatalogueError(f"{country.iso2}: sell 1 to 6 operators, not {len(operators)}")
    if len({o["id"] for o in operators}) != len(operators):
        raise CatalogueError(f"{country.iso2}: two operators share an id")
    carrier_names = [name for o in country.operators for name in o.carrier_names]
    if len(set(carrier_names)) != len(carrier_names):
        raise CatalogueError(f"{country.iso2}: a carrier name is given to two operators")


def shipped_countries(countries: Sequence[CountrySource]) -> list[CountrySource]:
    """The countries that go in the file, by iso2; checks CountrySource.has_carrier_data."""
    for country in countries:
        if not country.has_carrier_data and region_prefixes(
            calling_code(country.iso2), country.iso2
        ):
            raise CatalogueError(
                f"{country.iso2}: libphonenumber now has carrier data; curate the carrier "
                "names and drop has_carrier_data=False"
            )
    return sorted(countries, key=lambda c: c.iso2)


def build_country(country: CountrySource, fx: FxTable) -> JsonObject:
    code = calling_code(country.iso2)
    currency = country_currency(country.iso2, date.fromisoformat(fx.date))
    if currency not in fx.rates:
        raise CatalogueError(f"{country.iso2}: no {fx.date} rate for {currency}")
    operators = [
        build_operator(o, country, code, currency, fx, first=position == 0)
        for position, o in enumerate(country.operators)
    ]
    check_operators(country, operators)
    return {
        "iso2": country.iso2,
        "name": country_name(country),
        "calling_code": code,
        "currency": currency,
        "enabled": True,
        "operators": operators,
    }


def build_catalogue(countries: Sequence[CountrySource], fx: FxTable) -> JsonObject:
    if len({c.iso2 for c in countries}) != len(countries):
        raise CatalogueError("a country is listed twice in the sources")
    return {
        "format": CATALOGUE_FORMAT,
        "fx": {"date": fx.date, "base": fx.base, "source": fx.source},
        "pricing": {"fee_rate": FEE_RATE, "vat_rate": VAT_RATE},
        "countries": [build_country(c, fx) for c in shipped_countries(countries)],
    }


def render(catalogue: JsonObject) -> str:
    # One-space indent keeps the diff of a rebuild line-by-line reviewable; the key order is
    # the order the objects are built in, which is fixed.
    return json.dumps(catalogue, indent=1, ensure_ascii=False) + "\n"


def write_catalogue(output: Path, fx_path: Path = FX_PATH) -> None:
    text = render(build_catalogue(COUNTRIES, load_fx(fx_path)))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="catalogue path")
    arguments = parser.parse_args(argv)
    write_catalogue(arguments.output)
    print(f"wrote {arguments.output}")
    for country in COUNTRIES:
        if not country.has_carrier_data:
            print(f"{country.iso2}: no carrier data, so its operators have no prefixes")


if __name__ == "__main__":
    main()
