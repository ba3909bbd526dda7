"""Languages, locales and how money, moments and phone numbers read in each.

Covered: ``language_for`` (a country's first supported official language, English by
default), ``locale_for`` (the CLDR pairing where it exists, else the bare language),
``format_money`` and ``format_money_as_code`` (symbols, digits and ISO codes per locale),
``format_moment`` (UTC, said so, in the locale's words) and ``format_phone``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from babel import Locale

from topup.kit.i18n import (
    format_moment,
    format_money,
    format_money_as_code,
    format_phone,
    language_for,
    locale_for,
)

EN_NG, FR_SN, FR = Locale.parse("en_NG"), Locale.parse("fr_SN"), Locale.parse("fr")


@pytest.mark.parametrize(
    ("region", "language"),
    [("SN", "fr"), ("MX", "es"), ("IT", "it"), ("NG", "en"), ("GB", "en"), ("sn", "fr")],
)
def test_a_country_speaks_its_official_language(region: str, language: str) -> None:
    assert language_for(region) == language


def test_a_multilingual_country_speaks_its_first_supported_official_language() -> None:
    # Switzerland: German and Swiss German are not supported, French comes next.
    assert language_for("CH") == "fr"


@pytest.mark.parametrize("region", [None, "", "ZZ", "CN", "DE"])
def test_an_unknown_or_unsupported_country_gets_english(region: str | None) -> None:
    assert language_for(region) == "en"


@pytest.mark.parametrize(
    ("language", "region", "locale"),
    [("fr", "SN", "fr_SN"), ("fr", "sn", "fr_SN"), ("es", "MX", "es_MX"), ("en", None, "en")],
)
def test_a_locale_pairs_the_language_with_the_region(
    language: str, region: str | None, locale: str
) -> None:
    assert str(locale_for(language, region)) == locale


@pytest.mark.parametrize(("language", "region"), [("it", "NG"), ("es", "SN")])
def test_a_pairing_cldr_lacks_falls_back_to_the_language(language: str, region: str) -> None:
    assert str(locale_for(language, region)) == language


def test_naira_reads_with_its_symbol_and_kobo() -> None:
    assert format_money(100000, "NGN", EN_NG) == "₦1,000.00"


def test_the_cfa_franc_has_no_decimals() -> None:
    text = format_money(1000, "XOF", FR_SN)
    assert "CFA" in text
    assert text.startswith("1\u202f000\xa0")
    assert "," not in text


def test_euros_in_french_put_the_symbol_after_a_no_break_space() -> None:
    assert format_money(500, "EUR", FR) == "5,00\xa0€"


def test_yen_has_no_decimals() -> None:
    assert format_money(1000, "JPY", Locale.parse("en")) == "¥1,000"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (100000, "NGN", EN_NG, "NGN\xa01,000.00"),
        (500, "EUR", Locale.parse("en"), "EUR\xa05.00"),
        (500, "EUR", FR, "5,00\xa0EUR"),
        (1000, "XOF", FR_SN, "1\u202f000\xa0XOF"),
        (10000, "MXN", Locale.parse("es_MX"), "MXN\xa0100.00"),
    ],
)
def test_an_amount_as_code_puts_the_iso_code_a_space_from_the_digits(
    amount: int, currency: str, locale: Locale, expected: str
) -> None:
    assert format_money_as_code(amount, currency, locale) == expected


@pytest.mark.parametrize(
    ("currency", "symbol"), [("NGN", "₦"), ("EUR", "€"), ("XOF", "CFA"), ("MXN", "$")]
)
@pytest.mark.parametrize("locale", ["en", "en_NG", "fr", "fr_SN", "it", "es", "es_MX"])
def test_an_amount_as_code_never_shows_the_symbol(currency: str, symbol: str, locale: str) -> None:
    text = format_money_as_code(123400, currency, Locale.parse(locale))
    assert currency in text
    assert symbol not in text


MOMENT = datetime(2026, 11, 22, 10, 15, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("locale", "month", "time", "utc"),
    [
        ("en", "November", "9:15:00", "UTC"),
        ("en_NG", "November", "09:15:00", "UTC"),
        ("it", "novembre", "09:15:00", "UTC"),
        ("es", "noviembre", "9:15:00", "UTC"),
        # CLDR's French short name for UTC is "TU" (temps universel).
        ("fr", "novembre", "09:15:00", "TU"),
    ],
)
def test_a_moment_is_told_in_utc_with_the_locales_month(
    locale: str, month: str, time: str, utc: str
) -> None:
    text = format_moment(MOMENT, Locale.parse(locale))
    assert "22" in text
    assert month in text
    assert time in text
    assert text.endswith(f" {utc}")


def test_a_moment_already_in_utc_is_unchanged() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_moment(moment, Locale.parse("en_NG")) == "2 January 2026, 03:04:05 UTC"


def test_a_phone_number_reads_in_groups() -> None:
    assert format_phone("+2348031234567") == "+234 803 123 4567"
    assert format_phone("+221771234567") == "+221 77 123 45 67"


@pytest.mark.parametrize("text", ["not a phone", "", "12", "+"])
def test_an_unparsable_phone_comes_back_unchanged(text: str) -> None:
    assert format_phone(text) == text
