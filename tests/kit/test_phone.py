"""parse_phone: whatever way a number is written, the answer is one E.164 string."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from topup.kit.errors import InvalidInput
from topup.kit.phone import MAX_INPUT_LENGTH, ParsedPhone, parse_phone

MTN_NIGERIA = "+2348031234567"
REGIONS = [
    "NG",
    "GB",
    "FR",
    "DE",
    "IN",
    "KE",
    "GH",
    "US",
    "BR",
    "PH",
    "ZA",
    "SN",
    "CI",
    "EG",
    "PK",
    "ID",
    "CO",
    "IT",
]
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
SEPARATORS = ["", " ", "-", ".", "/", " - "]


@pytest.mark.parametrize(
    ("written", "country"),
    [
        ("+2348031234567", None),
        ("+234 803 123 4567", None),
        ("+234-803-123-4567", None),
        ("+234.803.123.4567", None),
        ("+234 (803) 123-4567", None),
        ("(+234) 803 123 4567", None),
        ("(+234)-803-123-4567", "NG"),
        ("00234 803 123 4567", None),
        ("002348031234567", None),
        ("  +234 803 123 4567  ", None),
        ("0803 123 4567", "NG"),
        ("(0803) 123-4567", "NG"),
        ("08031234567", "NG"),
        ("+234 803 123 4567", "NG"),
        ("+234 803 123 4567", "GB"),
    ],
)
def test_messy_inputs_give_the_same_number(written: str, country: str | None) -> None:
    parsed = parse_phone(written, country=country)

    assert parsed.e164 == MTN_NIGERIA
    assert parsed.region == "NG"
    assert parsed.is_mobile


def test_a_fixed_line_is_read_but_is_not_mobile() -> None:
    parsed = parse_phone("+44 20 7946 0018")

    assert parsed.e164 == "+442079460018"
    assert parsed.region == "GB"
    assert not parsed.is_mobile


def example_mobile(region: str) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None, region
    return example


@st.composite
def mobile_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid mobile number of one of REGIONS: the region's example with new last digits."""
    region = draw(st.sampled_from(REGIONS))
    example = example_mobile(region)
    national = str(example.national_number)
    replaced = draw(st.integers(min_value=0, max_value=min(4, len(national) - 1)))
    tail = draw(st.text("0123456789", min_size=replaced, max_size=replaced))
    number = phonenumbers.parse(
        f"+{example.country_code}{national[: len(national) - replaced]}{tail}"
    )
    assume(phonenumbers.is_valid_number(number))
    assume(phonenumbers.number_type(number) in MOBILE_TYPES)
    assume(phonenumbers.region_code_for_number(number) == region)
    return region, number


def with_separators(digits: str, separators: list[str]) -> str:
    return "".join(map(str.__add__, digits, separators)).rstrip(" -./")


def written_styles(
    data: st.DataObject, region: str, number: phonenumbers.PhoneNumber
) -> dict[str, tuple[str, str | None]]:
    """The ways people write ``number``: (text, the country picked beside it, if any)."""
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    digits = f"{number.country_code}{number.national_number}"
    separator = data.draw(st.sampled_from(SEPARATORS[1:]))
    separators = data.draw(
        st.lists(st.sampled_from(SEPARATORS), min_size=len(digits), max_size=len(digits))
    )
    return {
        "e164": (phonenumbers.format_number(number, PhoneNumberFormat.E164), None),
        "international": (international, None),
        "international, other separator": (international.replace(" ", separator), None),
        "national with its country": (national, region),
        "international with a country": (international, data.draw(st.sampled_from(REGIONS))),
        "double zero": ("00" + international.removeprefix("+"), None),
        "random separators": ("+" + with_separators(digits, separators), None),
    }


@given(data=st.data(), drawn=mobile_numbers())
def test_any_written_style_of_a_mobile_number_gives_its_e164(
    data: st.DataObject, drawn: tuple[str, phonenumbers.PhoneNumber]
) -> None:
    region, number = drawn
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)

    for style, (text, country) in written_styles(data, region, number).items():
        if len(text) > MAX_INPUT_LENGTH:  # " - " between every digit: refused as too long
            with pytest.raises(InvalidInput):
                parse_phone(text, country=country)
            continue
        parsed = parse_phone(text, country=country)
        assert (style, parsed.e164, parsed.region) == (style, e164, region), text
        assert parsed.is_mobile, style


@pytest.mark.parametrize(
    ("written", "country"),
    [
        ("", None),
        ("   ", None),
        ("+234 803 CALL NOW", None),
        ("+234 803 123 456a", None),
        ("phone", "NG"),
        ("+" + "2" * MAX_INPUT_LENGTH, None),
        ("+234" + " " * 30 + "8031234567", "NG"),
        ("+234 803 123 4567 ext. 12", None),
        ("+234 803 123 4567 x12", None),
        ("+234 803 123 4567;ext=12", None),
        ("+234 803 123 4567#12", None),
        ("0803 123 4567", None),
        ("8031234567", None),
        ("+234 000 000 0000", None),
        ("+1 555", None),
        ("+999 1234 5678", None),
        ("+", None),
        ("00", None),
        ("++2348031234567", None),
        ("0803 123 4567", "GB"),
    ],
)
def test_unreadable_inputs_are_refused_as_invalid_phone(written: str, country: str | None) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_phone(written, country=country)

    assert raised.value.code == "invalid_phone"
    assert raised.value.field == "phone"
    assert raised.value.status_code == 422
    assert raised.value.message


def test_the_field_name_is_the_callers() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_phone("0803 123 4567", field="recipient_phone")

    assert raised.value.body() == {
        "error": {
            "code": "invalid_phone",
            "field": "recipient_phone",
            "message": "Start the number with + and its country code, or pick a country.",
        }
    }


def outcome(text: str, country: str | None) -> ParsedPhone | InvalidInput:
    """What parse_phone gives: a number, or the one error it may raise (any other escapes)."""
    try:
        return parse_phone(text, country=country)
    except InvalidInput as error:
        return error


@given(text=st.text(max_size=60), country=st.sampled_from([None, "NG", "GB", "US", "SN"]))
def test_arbitrary_text_only_ever_raises_invalid_input(text: str, country: str | None) -> None:
    result = outcome(text, country)

    if isinstance(result, InvalidInput):
        assert (result.code, result.field) == ("invalid_phone", "phone")
    else:
        assert phonenumbers.is_valid_number(phonenumbers.parse(result.e164))


@given(
    text=st.text(alphabet="0123456789 +-.()/", max_size=45),
    country=st.sampled_from([None, "NG", "FR", "IN"]),
)
def test_digit_soup_only_ever_raises_invalid_input(text: str, country: str | None) -> None:
    result = outcome(text, country)

    if isinstance(result, InvalidInput):
        assert (result.code, result.field) == ("invalid_phone", "phone")
    else:
        assert result.e164 == phonenumbers.format_number(
            phonenumbers.parse(result.e164), PhoneNumberFormat.E164
        )
