"""The ports to the top-up supplier (Reloadly, DT One, or the simulator).

``NumberLookup`` answers "which operator serves this number, and is it prepaid?". Real
suppliers answer it from the operators' own records, which follow number portability;
libphonenumber's prefixes do not, so they only serve as the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class LineType(StrEnum):
    prepaid = "prepaid"
    postpaid = "postpaid"
    unknown = "unknown"


class DetectedBy(StrEnum):
    supplier = "supplier"
    prefix = "prefix"
    customer = "customer"


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """What a lookup learned about one E.164 number."""

    operator_id: str | None
    line_type: LineType
    detected_by: DetectedBy


class NumberLookup(Protocol):
    async def lookup(self, e164: str) -> NumberInfo:
        """Identify the operator and line type of ``e164`` (``+`` and digits)."""
        ...


class SupplierUnavailable(Exception):
    """The supplier did not answer, or answered with an error; the outcome is unknown."""
