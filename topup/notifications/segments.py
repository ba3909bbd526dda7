"""How many SMS a text costs: GSM 03.38 when every character is in that alphabet, else
UCS-2 (3GPP TS 23.038). The codec comes from ``gsm0338``; the arithmetic is the standard's.

One GSM-7 SMS holds 160 septets (a character of the extension table, such as € or [,
takes two), one UCS-2 SMS 70 UTF-16 units. A longer text is split into parts that each
lose room to the concatenation header: 153 septets or 67 units a part.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# Babel separates digits and signs with no-break spaces, which GSM lacks; a plain space
# reads the same on a phone and keeps the text in the cheaper alphabet.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


class Encoding(StrEnum):
    gsm7 = "gsm7"
    ucs2 = "ucs2"


@dataclass(frozen=True, slots=True)
class SegmentCount:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_text(text: str) -> str:
    """The text as it should go out by SMS: one line, plain spaces."""
    return " ".join(text.translate(_SPACES).split())


def count_segments(text: str) -> SegmentCount:
    try:
        sizes = [len(character.encode("gsm03.38")) for character in text]
    except UnicodeEncodeError:
        sizes = [len(character.encode("utf-16-le", "surrogatepass")) // 2 for character in text]
        return SegmentCount(Encoding.ucs2, sum(sizes), _parts(sizes, UCS2_SINGLE, UCS2_PART))
    return SegmentCount(Encoding.gsm7, sum(sizes), _parts(sizes, GSM_SINGLE, GSM_PART))


def is_gsm7(text: str) -> bool:
    return count_segments(text).encoding is Encoding.gsm7


def _parts(sizes: list[int], single: int, part: int) -> int:
    """Parts needed, filled in order; a character of two units (an escaped GSM sign, an
    emoji's surrogate pair) is never split between parts, as handsets would garble it."""
    if sum(sizes) <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts
