"""Operator detection from libphonenumber's carrier prefixes, and the supplier-first chain."""

from __future__ import annotations

import asyncio

import structlog

from topup.catalogue.snapshot import CatalogueCache
from topup.providers.suppliers.base import (
    DetectedBy,
    LineType,
    NumberInfo,
    NumberLookup,
    SupplierUnavailable,
)

log = structlog.get_logger(__name__)


class PrefixLookup:
    """Longest-prefix match against the carrier ranges stored with each operator.

    The ranges were taken from libphonenumber when the catalogue was built. They say who
    was first given a range, not who serves a ported number, and nothing about postpaid.
    """

    def __init__(self, catalogue: CatalogueCache) -> None:
        self._catalogue = catalogue

    async def lookup(self, e164: str) -> NumberInfo:
        snapshot = await self._catalogue.get()
        operator = snapshot.operator_for_number(e164.removeprefix("+"))
        return NumberInfo(operator.id if operator else None, LineType.unknown, DetectedBy.prefix)


class FallbackLookup:
    """Ask the supplier first; when it fails, is slow or does not know, use the prefixes."""

    def __init__(
        self, supplier: NumberLookup, fallback: NumberLookup, *, timeout_seconds: float
    ) -> None:
        self._supplier = supplier
        self._fallback = fallback
        self._timeout_seconds = timeout_seconds

    async def lookup(self, e164: str) -> NumberInfo:
        try:
            async with asyncio.timeout(self._timeout_seconds):
                answer = await self._supplier.lookup(e164)
        except (TimeoutError, SupplierUnavailable) as error:
            log.warning("supplier_lookup_failed", error=type(error).__name__)
            return await self._fallback.lookup(e164)
        if answer.operator_id is not None:
            return answer
        fallback = await self._fallback.lookup(e164)
        # The supplier may still know the line type even when it cannot name the operator.
        return NumberInfo(fallback.operator_id, answer.line_type, fallback.detected_by)
