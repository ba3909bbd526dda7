"""The supplier simulator: a stand-in for Reloadly or DT One, driven by the number itself.

It behaves like a real supplier's number lookup: it names the operator that serves the
number *today* and whether the line is prepaid. Which operator is known from the catalogue
(in a real deployment our catalogue is a copy of the supplier's). The last four digits
choose the outcome, as the sandbox contract in DESIGN.md §6 and the README describe:

- ``0009``: a postpaid line, so the lookup refuses it before any payment;
- ``0008``: a number ported away from the operator its prefix names, to the next operator
  of the same country (shows why the supplier is asked before the prefixes);
- anything else: the prefix operator, prepaid.
"""

from __future__ import annotations

import asyncio

from topup.catalogue.snapshot import CatalogueCache
from topup.providers.suppliers.base import DetectedBy, LineType, NumberInfo

POSTPAID_SUFFIX = "0009"
PORTED_SUFFIX = "0008"


class SupplierSimulator:
    def __init__(self, catalogue: CatalogueCache, *, latency_ms: int = 0) -> None:
        self._catalogue = catalogue
        self._latency_seconds = latency_ms / 1000

    async def lookup(self, e164: str) -> NumberInfo:
        if self._latency_seconds:
            await asyncio.sleep(self._latency_seconds)
        snapshot = await self._catalogue.get()
        operator = snapshot.operator_for_number(e164.removeprefix("+"))
        if operator is None:
            return NumberInfo(None, LineType.unknown, DetectedBy.supplier)
        line_type = LineType.postpaid if e164.endswith(POSTPAID_SUFFIX) else LineType.prepaid
        operator_id = operator.id
        if e164.endswith(PORTED_SUFFIX):
            siblings = [
                candidate.id
                for candidate in snapshot.operators.values()
                if candidate.country_iso2 == operator.country_iso2
            ]
            if len(siblings) > 1:
                operator_id = siblings[(siblings.index(operator.id) + 1) % len(siblings)]
        return NumberInfo(operator_id, line_type, DetectedBy.supplier)
