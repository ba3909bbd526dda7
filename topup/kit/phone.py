"""Turning what a person types into an E.164 number, with libphonenumber.

People type ``+234 803 123 4567``, ``00234-803-123-4567``, ``(0803) 123 4567`` with a
country picked from a list, and so on. All of these name the same number. What is *not*
accepted is anything libphonenumber would have to guess at: letters (vanity numbers),
extensions, or a national number with no country. The answer is always E.164, so the
customer sees exactly which number we understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from topup.kit.errors import InvalidInput

MAX_INPUT_LENGTH = 40
# Digits, spaces, dots, dashes, slashes, brackets and one leading plus, which may itself sit
# in brackets, as in "(+234) 803 123 4567": how numbers are written.
_WRITTEN_NUMBER = re.compile(r"^\(?\+?[0-9 ()./\-]+$")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    e164: str
    region: str  # ISO 3166-1 alpha-2 of the number itself
    is_mobile: bool


def invalid_phone(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_phone", field=field)


def parse_phone(raw: str, *, country: str | None = None, field: str = "phone") -> ParsedPhone:
    """Parse ``raw`` into E.164; ``country`` (ISO alpha-2) reads a national number."""
    text = raw.strip()
    if not text:
        raise invalid_phone("Enter a phone number.", field)
    if len(text) > MAX_INPUT_LENGTH or not _WRITTEN_NUMBER.fullmatch(text):
        raise invalid_phone(
            "A phone number has only digits, spaces, dashes and a leading +.", field
        )
    if text.startswith("(+"):
        text = text[1:]  # libphonenumber reads "+234) 803…" but not "(+234) 803…"
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+") and country is None:
        raise invalid_phone(
            "Start the number with + and its country code, or pick a country.", field
        )
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else country)
    except NumberParseException as error:
        raise invalid_phone("This is not a phone number we can read.", field) from error
    # number_type is UNKNOWN exactly when is_valid_number is False; asking once halves the
    # cost of the most expensive step of a lookup (measured with cProfile).
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        raise invalid_phone("This number does not exist in its country's numbering plan.", field)
    region = phonenumbers.region_code_for_number(number)
    if region is None or not region.isalpha():  # +800, +882…: "001", no country
        raise invalid_phone("This number belongs to no country.", field)
    return ParsedPhone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        region=region,
        is_mobile=number_type in _MOBILE_TYPES,
    )
