"""How many SMS a text costs, and how a text is made ready to go out by SMS.

Covered: the GSM-7 limits (160 septets in one SMS, 153 a part after that), the extension
characters that take two septets, the switch of the whole text to UCS-2 on a single
character outside GSM 03.38 (70 units in one SMS, 67 a part, an emoji two units), part
boundaries that may not split an escape sequence or a surrogate pair, ``sms_text``, and
properties over any text checked against an independent count.
"""

from __future__ import annotations

import pytest
from babel import Locale
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.sms_provider import num_segments
from topup.kit.i18n import format_money
from topup.notifications.segments import Encoding, count_segments, is_gsm7, sms_text

# GSM 03.38's default alphabet (127 characters and ESC) and its extension table.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
EMOJI = "🎉"


@pytest.mark.parametrize(
    ("length", "segments"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)]
)
def test_gsm_text_fills_160_septets_then_153_a_part(length: int, segments: int) -> None:
    count = count_segments("a" * length)
    assert (count.encoding, count.units, count.segments) == (Encoding.gsm7, length, segments)


@pytest.mark.parametrize("character", list(GSM_EXTENSION))
def test_an_extension_character_takes_two_septets(character: str) -> None:
    assert count_segments(character).units == 2
    assert count_segments("a" * 158 + character).segments == 1
    assert count_segments("a" * 159 + character).segments == 2
    assert is_gsm7(character)


def test_every_character_of_the_basic_table_takes_one_septet() -> None:
    assert count_segments(GSM_BASIC) == count_segments("a" * len(GSM_BASIC))


@pytest.mark.parametrize("outsider", ["ê", "ç", "₦", "\u00a0", EMOJI])
def test_one_character_outside_gsm_switches_the_whole_text_to_ucs2(outsider: str) -> None:
    count = count_segments("Hello " * 20 + outsider)
    assert count.encoding is Encoding.ucs2
    assert count.units == 120 + len(outsider.encode("utf-16-le")) // 2
    assert not is_gsm7(outsider)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_text_fills_70_units_then_67_a_part(length: int, segments: int) -> None:
    count = count_segments("ê" * length)
    assert (count.encoding, count.units, count.segments) == (Encoding.ucs2, length, segments)


def test_an_emoji_counts_two_utf16_units() -> None:
    assert count_segments(EMOJI).units == 2
    assert count_segments("ê" * 68 + EMOJI).segments == 1
    assert count_segments("ê" * 69 + EMOJI).segments == 2


def test_an_escape_sequence_is_never_split_between_two_parts() -> None:
    # 306 septets, but the € cannot straddle parts 1 and 2: 152 + (2 + 151) + 1 septets.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).segments == 3


def test_an_emoji_is_never_split_between_two_parts() -> None:
    # 134 units, but the surrogate pair cannot straddle parts 1 and 2: 66 + (2 + 65) + 1.
    text = "ê" * 66 + EMOJI + "ê" * 66
    assert count_segments(text).units == 134
    assert count_segments(text).segments == 3


def test_sms_text_turns_no_break_spaces_into_spaces_and_joins_lines() -> None:
    text = "Reçu :\u00a01\u202f000\u2009FCFA\nenvoyés\r\n  au\t+221 77 123 45 67 "
    assert sms_text(text) == "Reçu : 1 000 FCFA envoyés au +221 77 123 45 67"


def test_a_cfa_amount_stays_in_gsm_once_made_sms_text() -> None:
    amount = format_money(1000, "XOF", Locale.parse("fr_SN"))
    assert not is_gsm7(amount)
    assert sms_text(f"Recharge de {amount} envoyée") == "Recharge de 1 000 F CFA envoyée"
    assert is_gsm7(sms_text(f"Recharge de {amount} envoyée"))


gsm_texts = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700)
any_texts = st.one_of(gsm_texts, st.text(max_size=400))


@given(any_texts)
def test_any_text_costs_at_least_one_sms_and_no_fewer_than_its_units_fill(text: str) -> None:
    count = count_segments(text)
    assert count.segments >= 1
    assert count.segments >= num_segments(text)


@given(st.text(alphabet=GSM_BASIC, max_size=700))
def test_text_of_one_septet_characters_counts_as_an_independent_count_does(text: str) -> None:
    assert count_segments(text).segments == num_segments(text)


@given(any_texts)
def test_units_are_the_encoded_length(text: str) -> None:
    count = count_segments(text)
    try:
        encoded = text.encode("gsm03.38")
    except UnicodeEncodeError:
        assert count.encoding is Encoding.ucs2
        assert count.units == len(text.encode("utf-16-le")) // 2
    else:
        assert count.encoding is Encoding.gsm7
        assert count.units == len(encoded)


@given(gsm_texts)
def test_gsm_septets_are_one_a_character_and_two_an_extension(text: str) -> None:
    expected = sum(2 if character in GSM_EXTENSION else 1 for character in text)
    assert count_segments(text).units == expected


@given(st.text(max_size=300))
def test_sms_text_is_one_line_without_no_break_spaces(text: str) -> None:
    cleaned = sms_text(text)
    assert not {"\n", "\r", "\u00a0", "\u202f", "\u2009"} & set(cleaned)
    assert cleaned == cleaned.strip()
    assert sms_text(cleaned) == cleaned
