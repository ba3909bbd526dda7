"""The languages Topup speaks, and how money, dates and numbers read in each.

A customer's language is a field of the account, first set from the country of their
phone; a recipient's SMS is written in the destination country's language. Both go
through Babel/CLDR, so "1 000 FCFA" and "₦1,000.00" come out as each locale writes them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.languages import get_official_languages
from babel.numbers import format_currency

from topup.kit.money import minor_unit

SUPPORTED_LANGUAGES = ("en", "fr", "it", "es")
DEFAULT_LANGUAGE = "en"


def language_for(region: str | None) -> str:
    """The first supported language that is official in ``region``, else English."""
    if not region:
        return DEFAULT_LANGUAGE
    for language in get_official_languages(region, de_facto=True):
        if language in SUPPORTED_LANGUAGES:
            return str(language)
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=1024)
def locale_for(language: str, region: str | None) -> Locale:
    """``fr_SN`` where CLDR knows that pairing (it sets the digits and the symbol), else
    the bare language."""
    if region:
        try:
            return Locale.parse(f"{language}_{region.upper()}")
        except (UnknownLocaleError, ValueError):
            pass
    return Locale.parse(language)


# CLDR's currency spacing, which Babel leaves out: a sign made of letters ("NGN", "F CFA")
# is kept apart from the digits it touches, as "NGN 2,500.00", never "NGN2,500.00".
_LETTER_AGAINST_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def format_money(amount: int, currency: str, locale: Locale) -> str:
    """Minor units as the locale writes that currency, e.g. ``€5.00`` or ``5,00 €``."""
    formatted = format_currency(Decimal(amount) * minor_unit(currency), currency, locale=locale)
    return _LETTER_AGAINST_DIGIT.sub("\u00a0", formatted)


def format_money_as_code(amount: int, currency: str, locale: Locale) -> str:
    """The same amount with the ISO code in place of the symbol (``NGN 1,000.00``): an
    SMS stays in the GSM alphabet, where a sign like ₦ would halve its length."""
    # The positive half of the locale's pattern, its sign as a placeholder; a code needs
    # a space where a symbol may sit against the digits ("NGN 1,000.00", not "NGN1,000.00").
    code_pattern = re.sub("¤+", "\x00", locale.currency_formats["standard"].pattern.split(";")[0])
    code_pattern = re.sub("\x00(?=[#0])", "¤¤\u00a0", code_pattern)
    code_pattern = re.sub("(?<=[#0])\x00", "\u00a0¤¤", code_pattern).replace("\x00", "¤¤")
    return format_currency(
        Decimal(amount) * minor_unit(currency), currency, format=code_pattern, locale=locale
    )


def format_moment(moment: datetime, locale: Locale) -> str:
    """A date and time in UTC, said so, e.g. ``22 November 2026 at 09:15:00 UTC``."""
    return format_datetime(moment.astimezone(UTC), "long", tzinfo=UTC, locale=locale)


def format_phone(e164: str) -> str:
    """``+2348031234567`` as people write it: ``+234 803 123 4567``."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
