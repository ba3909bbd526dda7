"""The mix of ordinary recipients the soak buys for: ranges of new numbers in a few of the
served countries, each with a cheap fixed product of the operator the lookup finds there."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberType

from scripts.bench.load import MTN_NIGERIA, Recipients
from topup.catalogue.snapshot import CatalogueSnapshot, ProductEntry
from topup.kit.errors import InvalidInput
from topup.lookup.service import look_up_number
from topup.risk.rules import read_defaults
from topup.runtime import Runtime

# Common destinations of top-ups abroad, tried in this order after MTN Nigeria.
PREFERRED = ("IN", "PH", "MX", "KE", "PK", "BD", "GH", "CO", "EG", "VN")
TAIL_DIGITS = 6  # five digits of counter and the final 7: 100,000 numbers a range
CHECKED_PER_RANGE = 25


def _cheapest_fixed(products: tuple[ProductEntry, ...]) -> ProductEntry | None:
    fixed = [product for product in products if product.price is not None]
    return min(fixed, key=lambda product: product.price or 0, default=None)


async def _operator_of(runtime: Runtime, snapshot: CatalogueSnapshot, number: str) -> str | None:
    try:
        found = await look_up_number(snapshot, runtime.number_lookup, phone=number)
    except InvalidInput:
        return None
    return found.operator.id


async def _checked(runtime: Runtime, snapshot: CatalogueSnapshot, prefix: str) -> Recipients | None:
    """The range after ``prefix`` if numbers spread over all of it are valid mobile numbers
    of one served operator with a fixed product; None otherwise."""
    candidate = Recipients(prefix, TAIL_DIGITS, "")
    step = candidate.capacity() // CHECKED_PER_RANGE
    counters = [*range(0, candidate.capacity(), step), candidate.capacity() - 1]
    operators = {await _operator_of(runtime, snapshot, candidate.number(c)) for c in counters}
    if len(operators) != 1 or None in operators:
        return None
    product = _cheapest_fixed(snapshot.products_of(str(operators.pop())))
    return None if product is None else Recipients(prefix, TAIL_DIGITS, product.id)


async def recipient_mix(runtime: Runtime, size: int) -> tuple[Recipients, ...]:
    """MTN Nigeria and up to ``size - 1`` other ranges; countries under a market rule (an
    age or residence the benchmark's American buyers lack) are left out."""
    snapshot = await runtime.catalogue.get()
    ruled = {market.market for market in read_defaults().markets}
    others = [iso2 for iso2 in sorted(snapshot.countries) if iso2 not in PREFERRED]
    mix = [MTN_NIGERIA]
    for iso2 in (*PREFERRED, *others):
        if len(mix) == size:
            break
        example = phonenumbers.example_number_for_type(iso2, PhoneNumberType.MOBILE)
        if iso2 in ruled or snapshot.served_country(iso2) is None or example is None:
            continue
        e164 = f"+{example.country_code}{example.national_number}"
        recipients = await _checked(runtime, snapshot, e164[:-TAIL_DIGITS])
        if recipients is not None:
            mix.append(recipients)
    return tuple(mix)


def write_mix(mix: tuple[Recipients, ...], path: Path) -> None:
    path.write_text(json.dumps([asdict(recipients) for recipients in mix]), encoding="utf-8")
