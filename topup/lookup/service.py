"""Number lookup: parse, check the country, ask who serves the number, list its products.

The checks run in the order a customer can fix them: first the number itself, then the
country, then the line (postpaid lines cannot be topped up), then the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from topup.catalogue.snapshot import CatalogueSnapshot, CountryEntry, OperatorEntry, ProductEntry
from topup.kit.errors import InvalidInput
from topup.kit.phone import invalid_phone, parse_phone
from topup.providers.suppliers.base import DetectedBy, LineType, NumberInfo, NumberLookup


@dataclass(frozen=True, slots=True)
class LookupResult:
    e164: str
    country: CountryEntry
    operator: OperatorEntry
    line_type: LineType
    detected_by: DetectedBy
    products: tuple[ProductEntry, ...]


def normalise_country(raw: str | None) -> str | None:
    if raw is None:
        return None
    iso2 = raw.strip().upper()
    if len(iso2) != 2 or not iso2.isascii() or not iso2.isalpha():
        raise InvalidInput(
            "Use the two-letter ISO code of the country, such as NG.",
            code="invalid_country",
            field="country",
        )
    return iso2


async def look_up_number(
    snapshot: CatalogueSnapshot,
    number_lookup: NumberLookup,
    *,
    phone: str,
    country: str | None = None,
    operator_id: str | None = None,
) -> LookupResult:
    chosen_country = normalise_country(country)
    parsed = parse_phone(phone, country=chosen_country)
    if chosen_country is not None and parsed.region != chosen_country:
        raise InvalidInput(
            f"This number belongs to {parsed.region}, not {chosen_country}.",
            code="country_mismatch",
            field="phone",
        )
    served = snapshot.served_country(parsed.region)
    if served is None:
        raise InvalidInput(
            f"We do not send top-ups to {parsed.region} numbers.",
            code="unsupported_country",
            field="phone",
        )
    if not parsed.is_mobile:
        raise invalid_phone(
            "This is not a mobile number: only mobile lines can be topped up.", "phone"
        )
    info = await number_lookup.lookup(parsed.e164)
    if info.line_type is LineType.postpaid:
        raise InvalidInput(
            "This is a postpaid line: only prepaid numbers can be topped up.",
            code="not_prepaid",
            field="phone",
        )
    operator, detected_by = _choose_operator(snapshot, served, info, operator_id)
    return LookupResult(
        parsed.e164,
        served,
        operator,
        info.line_type,
        detected_by,
        snapshot.products_of(operator.id),
    )


async def look_up_recipient(
    snapshot: CatalogueSnapshot, number_lookup: NumberLookup, phone: str
) -> LookupResult:
    """The lookup of the number an order, a schedule or a promo preview sends credit to:
    a refusal names the request's field, ``recipient_phone``, not the lookup's ``phone``."""
    try:
        return await look_up_number(snapshot, number_lookup, phone=phone)
    except InvalidInput as error:
        if error.field == "phone":
            error.field = "recipient_phone"
        raise


def _choose_operator(
    snapshot: CatalogueSnapshot,
    country: CountryEntry,
    info: NumberInfo,
    corrected_operator_id: str | None,
) -> tuple[OperatorEntry, DetectedBy]:
    if corrected_operator_id is not None:
        # The customer knows better (a recently ported number): any served operator of the
        # number's own country is accepted, nothing else.
        chosen = snapshot.available_operator(corrected_operator_id)
        if chosen is None or chosen.country_iso2 != country.iso2:
            raise InvalidInput(
                f"Pick one of the operators of {country.name}.",
                code="invalid_operator",
                field="operator_id",
            )
        return chosen, DetectedBy.customer
    detected = snapshot.operators.get(info.operator_id) if info.operator_id else None
    if detected is None:
        raise InvalidInput(
            "We could not tell which operator serves this number; pick it from the list.",
            code="operator_unknown",
            field="phone",
        )
    if snapshot.available_operator(detected.id) is None:
        raise InvalidInput(
            f"Top-ups to {detected.name} are paused at the moment.",
            code="operator_unavailable",
            field="phone",
        )
    return detected, info.detected_by
